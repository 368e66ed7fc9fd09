"""The System tab: phase, engine, device, dtype, memory, queue depth, requests; clear memory, sleep and wake."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from glmtts.ui.context import Refresh, UiContext
from glmtts.ui.errors import ui_handler

if TYPE_CHECKING:
    from glmtts.serving.composition import Services

_LOGGER = logging.getLogger(__name__)

REQUEST_COLUMNS = ["route", "method", "status", "count"]
SYNTHESIS_COLUMNS = ["route", "syntheses", "mean time to first audio (s)"]
API_ROUTE_PREFIXES = ("/v1/", "/health", "/ready", "/metrics")
AUTO_REFRESH_S = 3.0
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def format_bytes(n_bytes: float) -> str:
    """``1536`` → ``"1.5 KiB"``; negative values keep their sign."""
    value = float(n_bytes)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def describe_status(status: Mapping[str, Any]) -> str:
    """Markdown table of the ``/v1/status`` document's main fields."""
    memory = status["memory"]
    queue = status["queue"]
    components = ", ".join(f"{name} {format_bytes(n)}" for name, n in memory["engine_bytes"].items()) or "–"
    cache = memory["voice_cache"]
    rows = [
        (
            "Phase",
            f"**{status['phase']}** for {status['seconds_in_phase']:.0f} s (up {status['uptime_s']:.0f} s)",
        ),
        (
            "Engine",
            f"{status['engine']} · {status['device']} · {status['dtype']} · {status['sample_rate'] or '–'} Hz"
            + "".join(f" · {part} {dtype}" for part, dtype in status.get("dtypes", {}).items()),
        ),
        ("Process memory (RSS)", format_bytes(memory["process_rss_bytes"])),
        ("Engine memory", f"{format_bytes(memory['engine_total_bytes'])} ({components})"),
        ("Voice cache", f"{cache['cached']} voices cached ({cache['hits']} hits, {cache['misses']} misses)"),
        (
            "Queue",
            f"{queue['interactive']}/{queue['max_interactive']} interactive, {queue['batch']}/{queue['max_batch']}"
            f" batch waiting; worker {'busy' if queue['busy'] else 'idle'}",
        ),
        ("Voices", f"{len(status['builtin_voices'])} built-in, {status['n_stored_voices']} stored"),
    ]
    if status.get("error"):
        rows.append(("Start-up error", str(status["error"])))
    return "| Server | Now |\n|---|---|\n" + "\n".join(f"| {name} | {value} |" for name, value in rows)


def request_rows(services: Services) -> list[list[Any]]:
    """HTTP API requests served so far by route, method and status (from the server's metrics).

    The UI's own traffic (Gradio's routes, static files) is left out.
    """
    rows: list[list[Any]] = []
    for family in services.metrics.requests.collect():
        for sample in family.samples:
            labels = sample.labels
            if sample.name.endswith("_total") and labels["route"].startswith(API_ROUTE_PREFIXES):
                rows.append([labels["route"], labels["method"], labels["status"], int(sample.value)])
    return sorted(rows, key=lambda row: -row[3])


def synthesis_rows(services: Services) -> list[list[Any]]:
    """Syntheses so far by route (HTTP routes and ``/ui``) with their mean time to first audio."""
    totals: dict[str, dict[str, float]] = {}
    for family in services.metrics.ttfa.collect():
        for sample in family.samples:
            if sample.name.endswith(("_count", "_sum")):
                route_totals = totals.setdefault(sample.labels["route"], {})
                route_totals[sample.name.rsplit("_", 1)[1]] = sample.value
    rows = [
        [route, int(t.get("count", 0)), round(t.get("sum", 0.0) / t["count"], 3) if t.get("count") else ""]
        for route, t in totals.items()
    ]
    return sorted(rows, key=lambda row: -row[1])


def describe_release(report: Mapping[str, Any]) -> str:
    return (
        f"Cleared memory: the engine freed **{format_bytes(report['freed_bytes'])}** "
        f"(engine {format_bytes(report['bytes_before'])} → {format_bytes(report['bytes_after'])}; "
        f"process RSS {format_bytes(report['rss_before'])} → {format_bytes(report['rss_after'])}; "
        f"{report['voice_cache_entries_dropped']} cached voices dropped)."
    )


def describe_phase_change(action: str, report: Mapping[str, Any]) -> str:
    message = f"{action}: now **{report['phase']}** after {report['seconds']:.2f} s"
    if "bytes_before" in report:
        freed = report["bytes_before"] - report["bytes_after"]
        message += (
            f"; engine memory {format_bytes(report['bytes_before'])} → {format_bytes(report['bytes_after'])}"
        )
        message += f" ({format_bytes(freed)} freed)"
    else:
        message += f"; engine memory {format_bytes(report['bytes_after'])}"
    return message + "."


def build_system_tab(context: UiContext) -> list[Refresh]:
    """Create the tab inside the current Blocks; return what to refresh when the page or tab opens."""
    import gradio as gr

    services = context.services
    status = gr.Markdown(elem_id="system-status")
    with gr.Row():
        refresh_button = gr.Button("Refresh")
        auto_refresh = gr.Checkbox(False, label=f"Refresh every {AUTO_REFRESH_S:.0f} s")
        release_button = gr.Button("Clear memory", variant="primary", elem_id="system-release")
        sleep_button = gr.Button("Sleep")
        wake_button = gr.Button("Wake")
    action_result = gr.Markdown(elem_id="system-action")
    with gr.Row():
        syntheses = gr.Dataframe(headers=SYNTHESIS_COLUMNS, label="Syntheses by route", interactive=False)
        requests = gr.Dataframe(headers=REQUEST_COLUMNS, label="HTTP API requests served", interactive=False)
    timer = gr.Timer(AUTO_REFRESH_S, active=False)

    def refresh() -> tuple[str, list[list[Any]], list[list[Any]]]:
        return describe_status(services.status()), synthesis_rows(services), request_rows(services)

    @ui_handler
    async def release() -> tuple[Any, ...]:
        report = await services.memory.release()
        _LOGGER.info("UI cleared memory: %s", report)
        return (describe_release(report), *refresh())

    @ui_handler
    async def sleep() -> tuple[Any, ...]:
        return (describe_phase_change("Sleeping", await services.memory.sleep()), *refresh())

    @ui_handler
    async def wake() -> tuple[Any, ...]:
        return (describe_phase_change("Woke up", await services.memory.wake()), *refresh())

    outputs = [status, syntheses, requests]
    refresh_button.click(refresh, None, outputs, api_name="status")
    timer.tick(refresh, None, outputs, show_progress="hidden", api_visibility="private")
    auto_refresh.change(lambda on: gr.Timer(active=bool(on)), auto_refresh, timer, api_visibility="private")
    release_button.click(release, None, [action_result, *outputs], api_name="release_memory")
    sleep_button.click(sleep, None, [action_result, *outputs], api_name="sleep")
    wake_button.click(wake, None, [action_result, *outputs], api_name="wake")
    return [Refresh(refresh, outputs)]
