"""Sparse CNNs: ResNets and a U-Net built from the same blocks as the dense ones."""
