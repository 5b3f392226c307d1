"""Discovery of sklpriv's public estimators (like ``sklearn.utils.all_estimators``)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from operator import itemgetter

from sklearn.base import BaseEstimator, ClassifierMixin, ClusterMixin, RegressorMixin

_TYPES = ("classifier", "regressor", "cluster", "forecaster", "generator")


def _is_forecaster(cls) -> bool:
    try:
        from sktime.forecasting.base import BaseForecaster
    except ImportError:  # pragma: no cover - sktime is a hard dependency
        return False
    return issubclass(cls, BaseForecaster)


def _is_generator(cls) -> bool:
    return issubclass(cls, BaseEstimator) and callable(getattr(cls, "sample", None))


_FILTERS = {
    "classifier": lambda c: issubclass(c, ClassifierMixin),
    "regressor": lambda c: issubclass(c, RegressorMixin),
    "cluster": lambda c: issubclass(c, ClusterMixin),
    "forecaster": _is_forecaster,
    "generator": _is_generator,
}


def all_estimators(type_filter: str | list[str] | None = None) -> list[tuple[str, type]]:
    """List every public estimator class defined in sklpriv.

    Walks all public modules of the package (private ``_`` modules included, since that is
    where the classes live) and keeps the non-abstract classes whose name does not start
    with ``_`` and that are sklearn estimators or sktime forecasters.

    Parameters
    ----------
    type_filter : {"classifier", "regressor", "cluster", "forecaster", "generator"}, \
            list of those, or None, default=None
        Keep only estimators of these kinds; ``None`` keeps all.

    Returns
    -------
    estimators : list of (name, class)
        Sorted by name, each class once.

    Examples
    --------
    >>> from sklpriv.utils import all_estimators
    >>> isinstance(all_estimators(), list)
    True
    """
    import sklpriv

    if type_filter is not None:
        wanted = [type_filter] if isinstance(type_filter, str) else list(type_filter)
        unknown = sorted(set(wanted) - set(_TYPES))
        if unknown:
            raise ValueError(f"type_filter must be None or among {list(_TYPES)}; got {unknown}.")
    found: dict[str, type] = {}
    for mod_info in pkgutil.walk_packages(sklpriv.__path__, prefix="sklpriv."):
        parts = mod_info.name.split(".")
        # sklpriv.utils holds the engine (a skorch net is a BaseEstimator), no estimator
        if "tests" in parts or parts[-1] == "__main__" or parts[1] == "utils":
            continue
        module = importlib.import_module(mod_info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                name.startswith("_")
                or not cls.__module__.startswith("sklpriv.")
                or inspect.isabstract(cls)
            ):
                continue
            if issubclass(cls, BaseEstimator) or _is_forecaster(cls):
                found[name] = cls
    estimators = sorted(found.items(), key=itemgetter(0))
    if type_filter is not None:
        estimators = [(n, c) for n, c in estimators if any(_FILTERS[t](c) for t in wanted)]
    return estimators
