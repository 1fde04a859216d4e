"""Models as data: the model spec and scoring, training, privacy, the artefact format.

numpy only; nothing here touches the chain or the network.
"""
