"""Reading a Kubernetes object's status conditions, as the e2e and cluster tests do."""


def condition(obj: dict | None, type_: str) -> dict | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return c
    return None


def is_true(obj: dict | None, type_: str) -> bool:
    c = condition(obj, type_)
    return c is not None and c.get("status") == "True"
