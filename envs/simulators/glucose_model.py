"""The UVa/Padova type-1-diabetes model, integrated with a fixed-step scheme in plain Python.

The model is the meal simulation model of Dalla Man, Rizza & Cobelli (2007,
IEEE TBME 54(10)) in its type-1 form, the UVa/Padova simulator (Kovatchev et
al. 2009; Dalla Man et al. 2014): no insulin secretion, insulin infused
subcutaneously, glucose read in the subcutaneous tissue. The equations are
those of the simulator as implemented in ``simglucose``'s ``T1DPatient``
(Jinyu Xie, MIT), whose published trajectory the tests replay; the code is
our own. Thirteen states (masses per kg of body weight, except the gut's):

- ``Qsto1``, ``Qsto2`` (mg): solid and liquid glucose in the stomach;
  ``Qgut`` (mg) glucose in the intestine, absorbed at ``f kabs Qgut / BW``
  mg/kg/min. Gastric
  emptying ``kgut`` falls and recovers with the stomach's content through two
  ``tanh`` steps whose scale ``Dbar`` is the meal being digested (mg);
- ``Gp``, ``Gt``: glucose in plasma and in slowly equilibrating tissues;
  endogenous production ``EGP = kp1 - kp2 Gp - kp3 Id`` (never negative),
  insulin-independent use ``Fsnc``, renal excretion above ``ke2``, and
  insulin-dependent use ``(Vm0 + Vmx X) Gt / (Km0 + Gt)``;
- ``Ip``, ``Il``: insulin in plasma and liver; ``X`` insulin action on glucose
  use, ``I1``, ``Id`` the delayed insulin signal acting on the liver;
- ``Isc1``, ``Isc2``: insulin in the two subcutaneous compartments, fed by the
  pump's infusion;
- ``Gs``: subcutaneous glucose, what a CGM reads (``Gs / Vg`` mg/dL).

Inputs are held constant over each minute. Classical fourth-order Runge-Kutta
with a step of one minute integrates it: the fastest rates of the model are
about 0.4 per minute, well inside RK4's stability region, and against an
adaptive solver at tolerance 1e-10 the glucose stays within 0.01 mg/dL over a
day of meals (``tests/envs/test_glucose_model.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from proxygym.envs.simulators.glucose_patients import PatientParameters

#: The derivative of the 13 states given (states, insulin pmol/kg/min, carbs mg/min, Dbar mg).
Derivative = Callable[[list[float], float, float, float], tuple[float, ...]]

#: Index of the stomach's solid and liquid glucose (mg); their sum is the stomach content.
QSTO1, QSTO2 = 0, 1
#: Index of subcutaneous glucose (mg/kg): a CGM reads ``x[GS] / Vg`` mg/dL.
GS = 12
#: Insulin units to picomoles.
PMOL_PER_UNIT = 6000.0


def make_derivative(p: PatientParameters) -> Derivative:
    """The right-hand side ``dx/dt`` of patient ``p``'s 13 states.

    A closure over the parameters as local floats: stepping calls it four
    times a minute, so attribute look-ups would cost more than the arithmetic.
    """
    kmax, kmin, kabs, b, d = p.kmax, p.kmin, p.kabs, p.b, p.d
    f_bw = p.f * kabs / p.BW
    kp1, kp2, kp3, fsnc, ke1, ke2 = p.kp1, p.kp2, p.kp3, p.Fsnc, p.ke1, p.ke2
    k1, k2, vm0, vmx, km0 = p.k1, p.k2, p.Vm0, p.Vmx, p.Km0
    m1, m2, m4, m30, vi, ib = p.m1, p.m2, p.m4, p.m30, p.Vi, p.Ib
    p2u, ki, kd, ka1, ka2, ksc = p.p2u, p.ki, p.kd, p.ka1, p.ka2, p.ksc
    m2m4, m1m30, ka1kd = m2 + m4, m1 + m30, ka1 + kd
    half_range, one_minus_b = (kmax - kmin) / 2.0, 1.0 - b

    def derivative(x: list[float], insulin: float, carbs: float, dbar: float) -> tuple[float, ...]:
        qsto1, qsto2, qgut, gp, gt, ip, act, i1, idl, il, isc1, isc2, gs = x
        qsto = qsto1 + qsto2
        if dbar > 0.0:
            # Gastric emptying slows as the stomach empties past b Dbar, recovers below d Dbar.
            kgut = kmin + half_range * (
                math.tanh(2.5 / (dbar * one_minus_b) * (qsto - b * dbar))
                - math.tanh(2.5 / (dbar * d) * (qsto - d * dbar))
                + 2.0
            )
        else:
            kgut = kmax
        egp = kp1 - kp2 * gp - kp3 * idl
        dgp = (egp if egp > 0.0 else 0.0) + f_bw * qgut - fsnc - k1 * gp + k2 * gt
        if gp > ke2:
            dgp -= ke1 * (gp - ke2)
        plasma_insulin = ip / vi
        dgt = -(vm0 + vmx * act) * gt / (km0 + gt) + k1 * gp - k2 * gt
        dip = -m2m4 * ip + m1 * il + ka1 * isc1 + ka2 * isc2
        dil = -m1m30 * il + m2 * ip
        disc1 = insulin - ka1kd * isc1
        disc2 = kd * isc1 - ka2 * isc2
        dgs = ksc * (gp - gs)
        # Masses cannot fall below zero: a compartment at or below 0 stops changing.
        return (
            -kmax * qsto1 + carbs,
            kmax * qsto1 - kgut * qsto2,
            kgut * qsto2 - kabs * qgut,
            dgp if gp >= 0.0 else 0.0,
            dgt if gt >= 0.0 else 0.0,
            dip if ip >= 0.0 else 0.0,
            p2u * (plasma_insulin - ib - act),
            ki * (plasma_insulin - i1),
            ki * (i1 - idl),
            dil if il >= 0.0 else 0.0,
            disc1 if isc1 >= 0.0 else 0.0,
            disc2 if isc2 >= 0.0 else 0.0,
            dgs if gs >= 0.0 else 0.0,
        )

    return derivative


class PatientModel:
    """One patient's ODE and its fixed-step integrator.

    ``advance`` moves a state forward whole minutes with the infusion, the
    carbohydrate intake and the digested meal's size held constant, and
    returns the mean subcutaneous glucose at the end of each minute: what
    ``simglucose`` (and so Pan et al.) report as the blood glucose of a step.
    """

    def __init__(self, params: PatientParameters) -> None:
        self.params = params
        self.derivative = make_derivative(params)
        self._units_to_pmol_per_kg = PMOL_PER_UNIT / params.BW
        self._inverse_vg = 1.0 / params.Vg

    def glucose(self, x: list[float]) -> float:
        """The glucose (mg/dL) a sensor in the subcutaneous tissue reads in state ``x``."""
        return x[GS] * self._inverse_vg

    def advance(
        self, x: list[float], insulin: float, carbs: float, dbar: float, minutes: int
    ) -> tuple[list[float], float]:
        """State after ``minutes`` one-minute RK4 steps, and the mean glucose at their ends.

        Args:
            x: the 13 states (not changed).
            insulin: the pump's infusion rate, U/min.
            carbs: carbohydrate eaten per minute, g/min.
            dbar: the meal being digested, mg (0: none yet).
            minutes: how many minutes to integrate (>= 1).
        """
        derivative = self.derivative
        infusion = insulin * self._units_to_pmol_per_kg
        intake = carbs * 1000.0
        total = 0.0
        for _ in range(minutes):
            k1 = derivative(x, infusion, intake, dbar)
            k2 = derivative(
                [a + 0.5 * b for a, b in zip(x, k1, strict=True)], infusion, intake, dbar
            )
            k3 = derivative(
                [a + 0.5 * b for a, b in zip(x, k2, strict=True)], infusion, intake, dbar
            )
            k4 = derivative([a + b for a, b in zip(x, k3, strict=True)], infusion, intake, dbar)
            x = [
                a + (b + 2.0 * (c + e) + g) / 6.0
                for a, b, c, e, g in zip(x, k1, k2, k3, k4, strict=True)
            ]
            total += x[GS]
        return x, total * self._inverse_vg / minutes


def magni_risk(glucose: float) -> float:
    """Magni et al.'s (2007) glycaemic risk of a glucose level (mg/dL), Pan et al.'s proxy cost.

    ``10 (3.5506 (ln g ^ 0.8353 - 3.7932))^2`` with ``g = max(glucose, 1)``
    (Pan et al.'s ``magni_reward``); 0 at about 138.9 mg/dL, 25.0 at 70.
    """
    g = glucose if glucose > 1.0 else 1.0
    scaled = 3.5506 * (math.log(g) ** 0.8353 - 3.7932)
    return 10.0 * scaled * scaled


def kovatchev_risk(glucose: float) -> float:
    """Kovatchev et al.'s (1997) risk index of a glucose level (mg/dL), for comparison.

    ``10 (1.509 (ln g ^ 1.084 - 5.381))^2`` with ``g = max(glucose, 1)``: 0
    at 112.5 mg/dL, 100 at 20 and at 600 (the ends of the glucose scale it was
    fitted to), and the same, about 7.75, at 70 and at 180.
    """
    g = glucose if glucose > 1.0 else 1.0
    scaled = 1.509 * (math.log(g) ** 1.084 - 5.381)
    return 10.0 * scaled * scaled
