"""Adversarial robustness: attacks (PGD, MI-FGSM, EOT, the noise-averaged transfer attack)
and adversarial training (Madry AT, TRADES, bridged AT).
"""

from ._adversarial import AdversarialClassifier, bridged_loss, trades_loss
from ._attacks import PGDAttack, robust_accuracy, transfer_success_rate
from ._plot import plot_adversarial_examples

__all__ = [
    "AdversarialClassifier",
    "PGDAttack",
    "bridged_loss",
    "plot_adversarial_examples",
    "robust_accuracy",
    "trades_loss",
    "transfer_success_rate",
]
