"""The embedded default engine: Kokoro-82M v1.0 (int8 ONNX), Mandarin + English with one voice.

Pipeline per request: the shared text frontend normalizes and segments the text → each segment becomes a
Kokoro phoneme string (Mandarin IPA from pinyin, English IPA from espeak-ng) → onnxruntime runs the model
with the voice's 256-d style vector → the chunk is trimmed, optionally passed through the voice's WORLD
adaptation, and yielded at once. Kokoro has no sampling, so output depends only on text, voice and speed;
``options.seed`` is accepted and has no effect. Results are bit-identical across runs and processes
because the graph has no random ops and onnxruntime runs sequentially with a fixed thread count.

Long text: up to ``options.max_chars`` characters (20,000 by default) is split by the frontend and
synthesized chunk by chunk (stream it to keep memory flat); longer text is refused with
:class:`~glmtts.errors.TextTooLongError`. A segment that mixes Chinese and English is rendered one
single-language run at a time, because an English word inside a Mandarin utterance comes out garbled.

Voices: the five bundled style packs (``jm_kumo`` first, the clearest in both languages) plus voices
*adapted* from a prompt clip (see :mod:`.adaptation`: this moves the voice toward the speaker, it does
not clone it). The engine keeps no voice cache: the voice subsystem caches what :meth:`prepare_voice`
returns. OpenAI's ``instructions`` are ignored (Kokoro has no style control besides the voice and speed).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from glmtts.audio import resample, to_mono
from glmtts.audio.chunk import CaptionSegment
from glmtts.engines.base import (
    SPEED_LIMITS,
    AudioChunk,
    CancelToken,
    Capabilities,
    Engine,
    EngineConfig,
    ProgressCallback,
    StreamingGranularity,
    SynthesisOptions,
    Voice,
)
from glmtts.engines.kokoro.adaptation import SpeakerProfile, VoiceTransform, style_weights
from glmtts.engines.kokoro.assets import STYLE_PACK_NAMES, KokoroAssets, default_cache_root
from glmtts.engines.kokoro.durations import DURATIONS_OUTPUT, DurationModelCache, open_session
from glmtts.engines.kokoro.g2p import KokoroPhonemizer
from glmtts.engines.kokoro.profiles import PackProfiles
from glmtts.engines.kokoro.timeline import CaptionTimer, PhonemeChunk, plan_chunks
from glmtts.engines.kokoro.words import PhonemeRun, RunWord, time_words, token_positions
from glmtts.errors import (
    EngineError,
    InvalidOptionError,
    TextTooLongError,
    UnknownVoiceError,
)
from glmtts.timing import step

if TYPE_CHECKING:
    from glmtts.text import TextFrontend

_LOGGER = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
STYLE_DIM = 256
#: Friendly names for the bundled packs.
VOICE_ALIASES: dict[str, str] = {
    "default": "jm_kumo",
    "kumo": "jm_kumo",
    "male": "jm_kumo",
    "alpha": "jf_alpha",
    "female": "jf_alpha",
    "gongitsune": "jf_gongitsune",
    "nezumi": "jf_nezumi",
    "tebukuro": "jf_tebukuro",
}
#: Silence (s) after a chunk, by its last mark; anything else gets the default.
PAUSE_AFTER_S = {".": 0.30, "!": 0.30, "?": 0.30, "…": 0.30, ",": 0.15, ";": 0.20, ":": 0.20}
DEFAULT_PAUSE_S = 0.12
#: Silence between the single-language runs of a mixed segment.
RUN_GAP_S = 0.04
TRIM_THRESHOLD = 0.01
TRIM_PAD_S = 0.04
#: The warm-up text: the shortest sentence that runs onnxruntime once (measured: a first request after
#: it is as fast as a warm one, long and Mandarin texts included; bench/README.md "Start-up").
WARMUP_TEXT = "Hi."
#: Run through the text path only (Mandarin G2P, a number, a mixed segment's split), not rendered.
WARMUP_MIXED_TEXT = "Hi, 用Python写3个。"


class KokoroEngine(Engine):
    """Kokoro-82M int8 on onnxruntime (CPU); see the module docstring."""

    name = "kokoro"

    def __init__(self, config: EngineConfig) -> None:
        super().__init__(config)
        if config.device != "cpu":
            raise InvalidOptionError(
                f"the kokoro engine runs on the CPU only (asked for device {config.device!r})"
            )
        if config.n_threads < 1:
            raise InvalidOptionError("n_threads must be at least 1")
        self._assets: KokoroAssets | None = None
        self._session: Any = None
        self._frontend: Any = None
        self._phonemizer: KokoroPhonemizer | None = None
        self._pack_profiles: dict[str, SpeakerProfile] = {}

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    # -- lifecycle -------------------------------------------------------------------------------------
    def load(self, progress: ProgressCallback | None = None) -> None:
        """Model files, the onnxruntime session and (beside it, on a helper thread) the text frontend."""
        from glmtts.engines.kokoro.espeak import EspeakPhonemizer
        from glmtts.text import FrontendConfig, TextFrontend

        cache_root = self.config.cache_dir or default_cache_root()
        with step("model files"):
            self._assets = KokoroAssets.load(cache_root, progress)
            model = self._assets.model
            model_path = DurationModelCache(model.path.parent).ensure(model, self.config.n_threads)
        text_cache = cache_root / "text" if self.config.cache_dir is not None else None
        frontend = TextFrontend(
            FrontendConfig(dictionary_path=self.config.dictionary_path, cache_dir=text_cache)
        )
        # onnxruntime builds its session without the GIL, so the (Python) frontend load runs beside it.
        with ThreadPoolExecutor(1, thread_name_prefix="kokoro-frontend") as pool:
            frontend_loaded = pool.submit(contextvars.copy_context().run, _load_frontend, frontend)
            with step("onnx session"):
                self._session = open_session(model_path, self.config.n_threads)
            frontend_loaded.result()
        self._frontend = frontend
        with step("phonemizer (espeak-ng)"):
            self._phonemizer = KokoroPhonemizer(self._assets.vocab, EspeakPhonemizer())
        with step("style pack profiles"):
            profiles = PackProfiles(cache_root / "kokoro", self._assets.model.sha256)
            self._pack_profiles = profiles.load_or_measure(self._measure_pack)
        _LOGGER.info("kokoro loaded (%d threads, model %s)", self.config.n_threads, self._assets.model.path)

    def warmup(self) -> None:
        """What a first request would set up, with the least synthesis: one tiny sentence through the
        streaming path with word timing (onnxruntime's first run, espeak-ng, the caption code), a mixed
        Chinese/English text through the text path only (Mandarin G2P, numbers), and the
        voice-adaptation code (WORLD analysis, pack weights, the transform) on a synthetic voiced second
        — no second synthesis."""
        for _chunk in self.stream(WARMUP_TEXT, self.builtin_voice(), SynthesisOptions(timestamps="word")):
            pass
        self._phonemes_of(WARMUP_MIXED_TEXT, ())
        clip = _voiced_tone(SAMPLE_RATE)
        profile = SpeakerProfile.analyze(clip, SAMPLE_RATE)
        style_weights(profile, self._pack_profiles)
        VoiceTransform.fit(profile, profile).apply(clip[: SAMPLE_RATE // 2], SAMPLE_RATE)

    def memory_bytes(self) -> dict[str, int]:
        if self._assets is None:
            return {}
        packs = sum(int(pack.nbytes) for pack in self._assets.style_packs.values())
        return {"model": self._assets.model.size_bytes, "style_packs": packs}

    def capabilities(self) -> Capabilities:
        """No sampling and no seed (deterministic), any speed, sentence streaming, 24 kHz, word timing
        (characters for Chinese) from the model's own durations."""
        return Capabilities(
            streaming=StreamingGranularity.SENTENCE,
            speed_range=SPEED_LIMITS,
            sample_rates=(SAMPLE_RATE,),
            word_timestamps=True,
        )

    @property
    def text_frontend(self) -> TextFrontend | None:
        return self._frontend

    # -- voices ----------------------------------------------------------------------------------------
    def builtin_voices(self) -> tuple[str, ...]:
        return STYLE_PACK_NAMES

    def builtin_voice(self, name: str | None = None) -> Voice:
        assets = self._require_loaded()
        key = VOICE_ALIASES.get((name or "default").strip().lower(), (name or "").strip())
        if key not in assets.style_packs:
            choices = ", ".join([*STYLE_PACK_NAMES, *VOICE_ALIASES])
            raise UnknownVoiceError(f"unknown voice {name!r}; built-in voices: {choices}")
        return Voice(
            voice_id=key, engine=self.name, builtin=True, features={"style": assets.style_packs[key]}
        )

    def prepare_voice(self, samples: np.ndarray, sample_rate: int, prompt_text: str | None = None) -> Voice:
        """Adapt a voice toward the speaker of a prompt clip (channels are mixed to mono first).

        The transcript is not needed (and not used) by this engine; it is kept on the voice.
        """
        assets = self._require_loaded()
        clip = resample(to_mono(samples), sample_rate, SAMPLE_RATE)
        adapted = self._adapt(clip, "kokoro-adapted", assets)
        return Voice(adapted.voice_id, self.name, prompt_text, builtin=False, features=dict(adapted.features))

    def _adapt(self, clip: np.ndarray, voice_id: str, assets: KokoroAssets) -> Voice:
        target = SpeakerProfile.analyze(_trim(clip), SAMPLE_RATE)
        weights = style_weights(target, self._pack_profiles)
        style = sum(w * assets.style_packs[n] for w, n in zip(weights, STYLE_PACK_NAMES, strict=True))
        style = np.asarray(style, dtype=np.float32)
        source = self._measure_style(style)
        transform = VoiceTransform.fit(source, target)
        _LOGGER.info(
            "adapted voice %s: F0 %.0f -> %.0f Hz, formant x%.2f, packs %s",
            voice_id,
            source.median_f0_hz,
            target.median_f0_hz,
            transform.warp_alpha,
            dict(zip(STYLE_PACK_NAMES, np.round(weights, 2).tolist(), strict=True)),
        )
        features = {"style": style, "style_weights": weights, "prompt_profile": target.to_array()}
        features.update(transform.to_features())
        return Voice(voice_id, self.name, None, builtin=False, features=features)

    def _measure_pack(self, name: str) -> SpeakerProfile:
        return self._measure_style(self._require_loaded().style_packs[name])

    def _measure_style(self, style: np.ndarray) -> SpeakerProfile:
        from glmtts.engines.kokoro.profiles import PROBE_TEXT

        chunks = self._phonemes_of(PROBE_TEXT, ())
        audio = np.concatenate([self._render_runs(chunk.runs, style, 1.0) for chunk in chunks])
        return SpeakerProfile.analyze(audio, SAMPLE_RATE)

    # -- synthesis -------------------------------------------------------------------------------------
    def stream(
        self,
        text: str,
        voice: Voice,
        options: SynthesisOptions,
        cancel: CancelToken | None = None,
    ) -> Iterator[AudioChunk]:
        """Yield one chunk per single-language run of each text segment, as soon as it is rendered."""
        if len(text) > options.max_chars:
            raise TextTooLongError(f"text has {len(text)} characters; the limit is {options.max_chars}")
        style = _style_of(voice)
        transform = VoiceTransform.from_features(voice.features) if "warp_alpha" in voice.features else None
        chunks = self._phonemes_of(text, options.pronunciations, spans=options.timestamps != "none")
        return self._stream_chunks(text, chunks, style, transform, options, cancel)

    def _stream_chunks(
        self,
        text: str,
        chunks: list[PhonemeChunk],
        style: np.ndarray,
        transform: VoiceTransform | None,
        options: SynthesisOptions,
        cancel: CancelToken | None,
    ) -> Iterator[AudioChunk]:
        word_level = options.timestamps == "word"
        speed = options.speed
        timer = CaptionTimer(SAMPLE_RATE, TRIM_THRESHOLD, text) if options.timestamps != "none" else None
        plan = [
            (chunk, run, i == len(chunk.pieces) - 1) for chunk in chunks for i, run in enumerate(chunk.pieces)
        ]
        for index, (chunk, run, ends_chunk) in enumerate(plan):
            if cancel is not None:
                cancel.raise_if_cancelled()
            audio, durations, trimmed_start = self._render(run.phonemes, style, speed)
            if transform is not None:
                audio = transform.apply(audio, SAMPLE_RATE)  # WORLD keeps the timing
            is_last = index == len(plan) - 1
            captions: tuple[CaptionSegment, ...] = ()
            if timer is not None:
                words = self._time_words(run, durations, trimmed_start, audio) if word_level else None
                captions = timer.speak(chunk.span, audio, ends_chunk and chunk.ends_segment, is_last, words)
            if not is_last:
                pause_s = PAUSE_AFTER_S.get(run.phonemes[-1], DEFAULT_PAUSE_S) if ends_chunk else RUN_GAP_S
                silence = np.zeros(int(pause_s / speed * SAMPLE_RATE), dtype=np.float32)
                if timer is not None:
                    timer.skip(silence.size)
                audio = np.concatenate([audio, silence])
            yield AudioChunk(audio, SAMPLE_RATE, segment_index=index, is_last=is_last, captions=captions)

    def _phonemes_of(
        self, text: str, pronunciations: tuple[tuple[str, str], ...], spans: bool = False
    ) -> list[PhonemeChunk]:
        """The output chunks of ``text`` (single-language phoneme runs, each within Kokoro's context), with
        the original text each speaks when ``spans``. Raises :class:`NothingToSayError` if nothing is
        speakable."""
        self._require_loaded()
        assert self._phonemizer is not None
        result = self._frontend.analyze(text, phoneme=False, extra_entries=pronunciations, spans=spans)
        return plan_chunks(result, self._phonemizer)

    def phonemes(self, text: str, pronunciations: tuple[tuple[str, str], ...] = ()) -> list[str]:
        """The Kokoro phonemes of each output chunk, runs joined by spaces (for inspection and tests)."""
        return [" ".join(chunk.runs) for chunk in self._phonemes_of(text, pronunciations)]

    def _render_runs(self, runs: list[str], style: np.ndarray, speed: float) -> np.ndarray:
        gap = np.zeros(int(RUN_GAP_S / speed * SAMPLE_RATE), dtype=np.float32)
        return np.concatenate([piece for run in runs for piece in (self._render(run, style, speed)[0], gap)])

    def _time_words(
        self, run: PhonemeRun, durations: np.ndarray, trimmed_start: int, audio: np.ndarray
    ) -> list[tuple[RunWord, int, int]]:
        """Sample ranges of the run's words in its output ``audio`` (see :mod:`.words`)."""
        assert self._phonemizer is not None
        positions = token_positions(run.phonemes, self._phonemizer.vocab)
        return time_words(run.words, positions, durations, trimmed_start, audio, TRIM_THRESHOLD, SAMPLE_RATE)

    def _render(self, phonemes: str, style: np.ndarray, speed: float) -> tuple[np.ndarray, np.ndarray, int]:
        """``(audio, durations, trimmed_start)``: the trimmed audio of one run, the frames of each model
        token (pads included) and how many samples the trim cut at the start."""
        assert self._phonemizer is not None
        ids = self._phonemizer.token_ids(phonemes)
        if not ids:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64), 0
        row = style[min(len(ids), len(style)) - 1].reshape(1, STYLE_DIM).astype(np.float32)
        feeds = {
            "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
            "style": row,
            "speed": np.array([speed], dtype=np.float32),
        }
        try:
            audio, durations = self._session.run(["audio", DURATIONS_OUTPUT], feeds)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EngineError(f"kokoro inference failed: {exc}") from exc
        audio = np.asarray(audio, dtype=np.float32).ravel()
        start, end = _trim_bounds(audio)
        return np.clip(audio[start:end], -1.0, 1.0), np.asarray(durations).ravel(), start

    def _require_loaded(self) -> KokoroAssets:
        if self._assets is None or self._session is None:
            raise EngineError("the kokoro engine is not loaded; call load() first")
        return self._assets


def _load_frontend(frontend: TextFrontend) -> None:
    with step("text frontend"):
        frontend.load()


def _style_of(voice: Voice) -> np.ndarray:
    style = voice.features.get("style")
    if style is None:
        raise UnknownVoiceError(f"voice {voice.voice_id!r} has no Kokoro style vector")
    array = np.asarray(style, dtype=np.float32)
    if array.ndim == 3:
        array = array.reshape(array.shape[0], -1)
    if array.ndim != 2 or array.shape[1] != STYLE_DIM:
        raise UnknownVoiceError(f"voice {voice.voice_id!r} has a style of shape {array.shape}, not [n, 256]")
    return array


def _voiced_tone(sample_rate: int, f0_hz: float = 120.0) -> np.ndarray:
    """One second of a voiced-like signal (harmonics, vibrato, syllable envelope) WORLD accepts."""
    t = np.arange(sample_rate) / sample_rate
    phase = 2 * np.pi * np.cumsum(f0_hz * (1.0 + 0.04 * np.sin(2 * np.pi * 4.0 * t))) / sample_rate
    wave = sum(np.sin(k * phase) * np.exp(-0.35 * k) for k in range(1, 20))
    wave = wave * (0.3 + 0.7 * np.abs(np.sin(2 * np.pi * 2.5 * t)))
    return (0.25 * wave / np.max(np.abs(wave))).astype(np.float32)


def _trim(audio: np.ndarray) -> np.ndarray:
    """Cut leading/trailing near-silence, keeping a short pad."""
    start, end = _trim_bounds(audio)
    return audio[start:end]


def _trim_bounds(audio: np.ndarray) -> tuple[int, int]:
    """``(start, end)`` of :func:`_trim`."""
    loud = np.flatnonzero(np.abs(audio) > TRIM_THRESHOLD)
    if loud.size == 0:
        return 0, int(audio.size)
    pad = int(TRIM_PAD_S * SAMPLE_RATE)
    return max(0, int(loud[0]) - pad), int(loud[-1]) + pad
