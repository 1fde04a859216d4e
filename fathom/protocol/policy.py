"""An oracle's acceptance policy (rule O5), as OracleRegistry.accepts reads it.

A node registers its policy on chain (`OracleRegistry.setPolicy`); the registry draws a
committee only among oracles whose policy accepts the bounty, and `joinCommittee` refuses
one whose policy does not. The node applies the same check itself before it joins, so it
never bonds for a bounty outside its policy even if its on-chain policy lags behind.

The defaults are the market's own bounds (B4), so an operator that tightens nothing
accepts every bounty the market allows, as an oracle with no policy does.

Fees: the registry prices only ETH. `min_fee_per_batch` (wei) binds ETH bounties; a
bounty that pays its oracles in an ERC-20 is accepted only with `accept_token_fees`.

Bond: `max_bond` (wei) bounds the member bond a bounty asks (the larger of minStake/16 and
its ETH fee budget), so a requester cannot pick a bond an honest node could not post and
have its drawn seat vacated (SECURITY.md, finding A). It is also what the node may stake
more for one bounty: a bounty whose bond is above it is refused before anything is staked.
The default, 1 ETH, is the devnet's minimum stake: an operator risks at most that per bounty.

The standard envelope (R3-4, `OracleRegistry.envelope()`): the loosest policy the registry
takes. Every policy accepts every bounty the envelope accepts (scoring timeout >= 1 hour,
deadline <= 30 days, committee x batch <= 192, ETH fees >= 0.001 ETH per batch, bond <=
minStake/16), so such a bounty's draw never misses on a policy; `envelope_breach` names the
field of a policy stricter than it (setPolicy would revert), `refusal(envelope, terms)` says
why a bounty lies outside it. The defaults lie inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

DAY = 86_400


@dataclass(frozen=True)
class Policy:
    min_scoring_timeout: int = 600  # seconds: the market's own floor (B4)
    max_duration: int = 365 * DAY  # seconds from opening to deadline (bonded until close): the market's bound
    min_fee_per_batch: int = 0  # wei, ETH bounties only
    max_committee_by_batch: int = 2048  # the market's own bound (B4)
    accept_token_fees: bool = True
    max_bond: int = 10**18  # wei: the largest member bond it posts for one bounty (finding A)

    def as_tuple(self) -> tuple[int, int, int, int, bool, int]:
        """IOracleRegistry.Policy, in field order."""
        return (self.min_scoring_timeout, self.max_duration, self.min_fee_per_batch,
                self.max_committee_by_batch, self.accept_token_fees, self.max_bond)

    @classmethod
    def from_tuple(cls, t: Any) -> "Policy":
        return cls(int(t[0]), int(t[1]), int(t[2]), int(t[3]), bool(t[4]), int(t[5]))


@dataclass(frozen=True)
class Terms:
    """IOracleRegistry.Terms: a bounty as policies read it."""

    scoring_timeout: int
    duration: int
    fee_per_batch: int
    fee_in_eth: bool
    committee_by_batch: int
    bond: int = 0

    def as_tuple(self) -> tuple[int, int, int, bool, int, int]:
        return (self.scoring_timeout, self.duration, self.fee_per_batch, self.fee_in_eth,
                self.committee_by_batch, self.bond)


def terms_of(view: Mapping[str, Any], committee_size: int, opened_at: int, bond: int = 0) -> Terms:
    """The terms of a bounty from its `getBounty` view, committee size and opening time."""
    return Terms(
        scoring_timeout=int(view["scoringTimeout"]),
        duration=int(view["deadline"]) - int(opened_at),
        fee_per_batch=int(view["oracleFeePerBatch"]),
        fee_in_eth=int(str(view["token"]), 16) == 0,
        committee_by_batch=committee_size * int(view["batchSize"]),
        bond=bond,
    )


def refusal(policy: Policy, terms: Terms) -> str | None:
    """Why `policy` refuses `terms` (None if it accepts them): OracleRegistry.accepts."""
    if terms.scoring_timeout < policy.min_scoring_timeout:
        return f"scoring timeout {terms.scoring_timeout}s is below the policy's {policy.min_scoring_timeout}s"
    if terms.duration > policy.max_duration:
        return f"deadline {terms.duration}s after opening is beyond the policy's {policy.max_duration}s"
    if terms.committee_by_batch > policy.max_committee_by_batch:
        return f"committee x batch {terms.committee_by_batch} is above the policy's {policy.max_committee_by_batch}"
    if terms.fee_in_eth and terms.fee_per_batch < policy.min_fee_per_batch:
        return f"fee {terms.fee_per_batch} wei per batch is below the policy's {policy.min_fee_per_batch}"
    if not terms.fee_in_eth and not policy.accept_token_fees:
        return "the bounty pays its oracles in an ERC-20 and the policy accepts only ETH fees"
    if terms.bond > policy.max_bond:
        return f"member bond {terms.bond} wei is above the policy's {policy.max_bond}"
    return None


def envelope_breach(policy: Policy, envelope: Policy) -> str | None:
    """The field on which `policy` is stricter than the registry's standard envelope (R3-4:
    `setPolicy` reverts InvalidPolicy), as the option that sets it, or None."""
    if policy.min_scoring_timeout > envelope.min_scoring_timeout:
        return f"--min-timeout above {envelope.min_scoring_timeout}"
    if policy.max_duration < envelope.max_duration:
        return f"--max-days below {envelope.max_duration / DAY:g}"
    if policy.min_fee_per_batch > envelope.min_fee_per_batch:
        return f"--min-fee above {envelope.min_fee_per_batch / 10**18:g} ETH"
    if policy.max_committee_by_batch < envelope.max_committee_by_batch:
        return f"--max-committee-by-batch below {envelope.max_committee_by_batch}"
    if policy.max_bond < envelope.max_bond:
        return f"--max-bond below {envelope.max_bond / 10**18:g} ETH"
    return None
