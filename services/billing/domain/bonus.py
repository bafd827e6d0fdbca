"""The share of a top-up's bonus a refund reverses. The bonus itself is payments' (TopupPaid.bonus_cents)."""


def bonus_to_reverse(
    *, topup_cents: int, bonus_cents: int, refunded_before: int, refund_cents: int, reversed_before: int
) -> int:
    """After refunds totalling R of a top-up A with bonus B, exactly floor(B·R/A) is reversed.

    Computing the cumulative target and subtracting what was already reversed makes partial refunds
    that add up to A reverse all of B, whatever their order or sizes.
    """
    if topup_cents <= 0:
        return 0
    refunded_total = min(refunded_before + refund_cents, topup_cents)
    target = bonus_cents * refunded_total // topup_cents
    return max(target - reversed_before, 0)
