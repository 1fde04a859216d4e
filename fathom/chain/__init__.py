"""The chain edge: the only part of fathom that imports web3, eth_abi and eth_account.

`client` connects, signs and sends (and runs local chains); `market` is the three
contracts' views and actions; `deployments` reads and writes deployments/<network>.json.
"""
