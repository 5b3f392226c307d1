"""Adversarial robustness: attacks (PGD, MI-FGSM, EOT, the noise-averaged transfer attack)."""

from ._attacks import PGDAttack, robust_accuracy, transfer_success_rate

__all__ = ["PGDAttack", "robust_accuracy", "transfer_success_rate"]
