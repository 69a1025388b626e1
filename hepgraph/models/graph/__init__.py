"""Graph neural networks: DGCNN/EdgeConv, GravNet, Interaction Network, GATv2."""
