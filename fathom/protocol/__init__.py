"""The reference model of the contracts: the on-chain rules in plain integers.

No web3, no numpy, no network: `settlement` mirrors RewardMath.sol and settleBatch,
`payouts` the one-off Merkle groups (U6, P3). Tests hold the contracts to it.
"""
