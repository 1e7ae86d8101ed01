"""Function transforms, as ``torch.func`` and JAX: ``grad``, ``jacobian``, ``hessian``, ``vjp``
(reverse mode, the engine's ``create_graph``) and ``jvp``, ``jacfwd`` (forward mode: dual numbers
whose derivatives come from the same ``engine.RULES`` rows as backward()).

Arguments and outputs are numbers, Values, or lists/tuples of them (nested as deep as you like).
A derivative has the structure of its input; a Jacobian is the output's structure with each
number replaced by the input's structure of derivatives (``jac[i][j] = d out_i / d x_j``), as
``torch.func.jacrev`` and ``jax.jacobian`` give it. Numbers in give floats out; a Value argument
(or a call inside another transform) gives differentiable Values, so transforms compose:
``grad(grad(f))``, ``hessian(f) == jacobian(grad(f))``, ``grad`` of a ``jvp``.
"""

from __future__ import annotations

from micrograd.func._forward import Dual as Dual  # the dual number jvp makes (not in __all__)
from micrograd.func._forward import jacfwd, jvp
from micrograd.func._reverse import grad, hessian, jacobian, value_and_grad, vjp

__all__ = ["grad", "hessian", "jacfwd", "jacobian", "jvp", "value_and_grad", "vjp"]
