"""placeholder"""


def clear() -> None:
    return None
