def generate() -> list[dict]:
    return []
