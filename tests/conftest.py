"""Test-wide settings."""

import torch

# The test networks are tiny: on a 2-core CI machine intra-op threads cost more than they
# bring (measured: the BayesNAM/DPSAT tests run several times faster with one thread).
torch.set_num_threads(1)
