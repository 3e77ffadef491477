"""gunicorn reads this file from the directory it starts in (the project's root): what every
deployment of the platform needs, whatever its command line says."""


def worker_exit(server, worker):
    """A worker stopping gracefully writes the shown scans it still holds (core.scanlog) before it
    goes; atexit does the same when the interpreter ends, this covers a worker gunicorn retires."""
    from core.scanlog import scan_log

    written = scan_log.flush()
    if written:
        server.log.info("worker %s wrote its last %d shown scans", worker.pid, written)
