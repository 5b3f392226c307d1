"""Adversarial robustness: attacks (PGD, MI-FGSM, EOT, the noise-averaged transfer attack)."""

from ._attacks import PGDAttack, robust_accuracy, transfer_success_rate
from ._plot import plot_adversarial_examples

__all__ = ["PGDAttack", "plot_adversarial_examples", "robust_accuracy", "transfer_success_rate"]
