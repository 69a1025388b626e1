"""Dense CNN baselines on images: ResNets (2D, 3D, three views), U-Nets, Inception/CVN, small CNN."""
