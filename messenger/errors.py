"""The one base of every refusal the domain rules give."""


class RuleError(Exception):
    """A request the rules refuse: ``code`` names the rule (documented where
    clients see it), ``message`` explains it to the person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
