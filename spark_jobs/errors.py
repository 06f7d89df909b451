"""Turning any exception of a run into an error class and a message a person can act on."""

from __future__ import annotations

import threading


class JobCanceled(BaseException):
    """The run was told to stop (SIGTERM from a cancel) between two Spark actions.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way swallows
    it; the runner catches it, aborts what is staged and reports the jobs as Canceled.
    """


# Set by the entry point's SIGTERM handler; the runner looks at it between phases (a signal
# handler must not raise inside a py4j call: the thread's connection would be left mid-answer).
CANCEL_REQUESTED = threading.Event()


def raise_if_canceled() -> None:
    if CANCEL_REQUESTED.is_set():
        raise JobCanceled("the run was canceled")


def describe_error(e: BaseException) -> dict[str, str]:
    """{"errorClass", "message"}: the Java exception's class for JVM errors, else Python's.

    Spark wraps a task's failure ("Task failed while writing rows") around the cause a person
    can act on; the innermost cause's message is appended when it says something new.
    """
    cls = type(e).__name__
    message = str(e)
    java = getattr(e, "java_exception", None)
    if java is not None:
        try:
            cls = java.getClass().getName()
            message = str(java.getMessage() or message)
            root = java
            while root.getCause() is not None and root.getCause() != root:
                root = root.getCause()
            if root != java:
                cause = str(root.getMessage() or "").split("\n\tat ", 1)[0].strip()
                if cause and cause not in message:
                    message = f"{message}\nCaused by {root.getClass().getName()}: {cause}"
        except Exception:  # noqa: BLE001 - the JVM may be gone; keep the Python text
            pass
    # Spark messages carry a JVM stack trace after the first blank line; the head says it all.
    message = message.split("\n\tat ", 1)[0].split("\nJVM stacktrace:", 1)[0].strip()
    if len(message) > 4000:
        message = message[:4000] + " ..."
    return {"errorClass": cls, "message": message or cls}


def is_cancellation(e: BaseException) -> bool:
    """A cancel: SIGTERM / Ctrl-C in the driver, or Spark reporting a canceled job group."""
    if isinstance(e, (KeyboardInterrupt, JobCanceled)) or CANCEL_REQUESTED.is_set():
        return True
    text = str(e)
    return "cancelled" in text and ("job group" in text or "Job " in text or "CANCELLED" in text)
