"""Turning any exception of a run into an error class and a message a person can act on."""

from __future__ import annotations


def describe_error(e: BaseException) -> dict[str, str]:
    """{"errorClass", "message"}: the Java exception's class for JVM errors, else Python's."""
    cls = type(e).__name__
    message = str(e)
    java = getattr(e, "java_exception", None)
    if java is not None:
        try:
            cls = java.getClass().getName()
            message = str(java.getMessage() or message)
        except Exception:  # noqa: BLE001 - the JVM may be gone; keep the Python text
            pass
    # Spark messages carry a JVM stack trace after the first blank line; the head says it all.
    message = message.split("\n\tat ", 1)[0].split("\nJVM stacktrace:", 1)[0].strip()
    if len(message) > 4000:
        message = message[:4000] + " ..."
    return {"errorClass": cls, "message": message or cls}


def is_cancellation(e: BaseException) -> bool:
    """Spark reports a canceled job group as an exception whose text says it was cancelled."""
    if isinstance(e, KeyboardInterrupt):
        return True
    text = str(e)
    return "cancelled" in text and ("job group" in text or "Job " in text or "CANCELLED" in text)
