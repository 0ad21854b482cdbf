"""The fault matrix's checker fails when it should: hand-made ledgers, rows and views."""

from bench.fault_check import Sent, Shown, Stored, check

ALICE, BOB = 1, 2
CHAT = 10
MEMBERS = {CHAT: {ALICE, BOB}}


def sent(n: int, *, acked: bool = True) -> Sent:
    # Sent one after another, each acknowledged before the next was sent.
    return Sent(
        client_id=f"c{n}",
        sender_id=ALICE,
        conversation_id=CHAT,
        first_sent=float(n),
        last_sent=float(n),
        acked_at=n + 0.5 if acked else None,
        attempts=1,
    )


def stored(n: int, sequence: int, *, message_id: int | None = None) -> Stored:
    return Stored(
        message_id=message_id or 100 + n,
        conversation_id=CHAT,
        sender_id=ALICE,
        client_id=f"c{n}",
        sequence=sequence,
    )


def shown(row: Stored, *, at: float = 9.0) -> Shown:
    return Shown(
        message_id=row.message_id,
        conversation_id=row.conversation_id,
        client_id=row.client_id,
        sequence=row.sequence,
        arrived_at=at,
    )


def test_everything_stored_once_in_order_and_shown_to_everyone_is_clean() -> None:
    rows = [stored(n, n + 1) for n in range(3)]
    verdict = check(
        sent=[sent(n) for n in range(3)],
        stored=rows,
        members=MEMBERS,
        shown={ALICE: [shown(r) for r in rows], BOB: [shown(r) for r in rows]},
    )
    assert verdict.clean
    assert (verdict.sent, verdict.acknowledged, verdict.stored, verdict.delivered) == (3, 3, 3, 3)
    assert verdict.recovery_seconds == 9.0  # the first was sent at 0, shown at 9


def test_an_acknowledged_message_missing_from_the_database_is_lost() -> None:
    rows = [stored(0, 1)]
    verdict = check(
        sent=[sent(0), sent(1)],
        stored=rows,
        members=MEMBERS,
        shown={ALICE: [shown(rows[0])], BOB: [shown(rows[0])]},
    )
    assert verdict.lost == 1
    assert verdict.recovery_seconds is None
    assert not verdict.clean


def test_a_stored_message_one_member_never_saw_is_lost() -> None:
    rows = [stored(0, 1)]
    verdict = check(
        sent=[sent(0)], stored=rows, members=MEMBERS, shown={ALICE: [shown(rows[0])], BOB: []}
    )
    assert (verdict.lost, verdict.delivered) == (1, 0)


def test_a_message_stored_twice_or_shown_under_two_ids_is_duplicated() -> None:
    first, again = stored(0, 1), stored(0, 2, message_id=999)
    verdict = check(
        sent=[sent(0)],
        stored=[first, again],
        members=MEMBERS,
        shown={ALICE: [shown(first), shown(again)], BOB: [shown(first)]},
    )
    assert verdict.duplicated == 2  # one extra row, one extra message in Alice's view


def test_a_later_message_stored_before_an_acknowledged_earlier_one_is_reordered() -> None:
    rows = [stored(0, 2), stored(1, 1)]
    verdict = check(
        sent=[sent(0), sent(1)],
        stored=rows,
        members=MEMBERS,
        shown={ALICE: [shown(r) for r in rows], BOB: [shown(r) for r in rows]},
    )
    assert verdict.reordered == 1


def test_a_gap_in_the_sequence_numbers_is_reordered() -> None:
    rows = [stored(0, 1), stored(1, 3)]
    verdict = check(
        sent=[sent(0), sent(1)],
        stored=rows,
        members=MEMBERS,
        shown={ALICE: [shown(r) for r in rows], BOB: [shown(r) for r in rows]},
    )
    assert verdict.reordered == 1


def test_a_message_no_client_sent_is_a_phantom() -> None:
    rows = [stored(0, 1), stored(7, 2)]
    verdict = check(
        sent=[sent(0)],
        stored=rows,
        members=MEMBERS,
        shown={ALICE: [shown(r) for r in rows], BOB: [shown(r) for r in rows]},
    )
    assert verdict.phantom == 1


def test_stored_but_never_acknowledged_is_allowed_and_counted() -> None:
    # The ack was lost with the web process; the resend is the same message.
    rows = [stored(0, 1)]
    verdict = check(
        sent=[sent(0, acked=False)],
        stored=rows,
        members=MEMBERS,
        shown={ALICE: [shown(rows[0])], BOB: [shown(rows[0])]},
    )
    assert verdict.clean
    assert verdict.unacked_stored == 1
