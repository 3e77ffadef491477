class DomainError(Exception):
    """A refused request, with a machine-readable ``code`` the API and pages pass on.

    Services raise it; the API's single exception handler turns it into
    ``{"code", "message", "details"}`` with ``status``.
    """

    status = 400

    def __init__(self, message: str, *, code: str, details=None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details
        if status is not None:
            self.status = status


class NotFound(DomainError):
    status = 404
