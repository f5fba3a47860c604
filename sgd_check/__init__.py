"""Online-SGD simulator and theory-vs-SGD checks (THEORY.md §2-§4)."""

__all__: list[str] = []
