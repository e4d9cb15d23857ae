"""A library two teams' services share (the hub's bug fingerprint test): its bug is one bug,
whichever service calls it. Three levels deep, as a library's code usually is."""


class InvalidOrder(Exception):
    pass


def load_order(document):
    order = dict(document)
    _validate(order)
    return order


def _validate(order):
    _require(order, "id")
    _require(order, "lines")


def _require(order, field):
    if field not in order:
        raise InvalidOrder(f"order {order.get('id', '?')} has no {field}")
