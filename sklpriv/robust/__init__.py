"""Adversarial robustness: attacks (PGD, MI-FGSM, EOT, the noise-averaged transfer attack),
adversarial training (Madry AT, TRADES, bridged AT) and randomized networks with GradDiv.
"""

from ._adversarial import AdversarialClassifier, bridged_loss, trades_loss
from ._attacks import PGDAttack, robust_accuracy, transfer_success_rate
from ._plot import plot_adversarial_examples, plot_gradient_directions
from ._randomized import RandomizedNetworkClassifier

__all__ = [
    "AdversarialClassifier",
    "PGDAttack",
    "RandomizedNetworkClassifier",
    "bridged_loss",
    "plot_adversarial_examples",
    "plot_gradient_directions",
    "robust_accuracy",
    "trades_loss",
    "transfer_success_rate",
]
