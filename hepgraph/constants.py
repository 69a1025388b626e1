"""Units and physical constants used across hepgraph.

One unit system: lengths in mm, times in ns, momenta and energies in GeV (deposited
energies in MeV), magnetic fields in T.
"""

from __future__ import annotations

MM = 1.0
CM = 10.0
M = 1000.0
NS = 1.0
GEV = 1.0
MEV = 1.0e-3

#: p_T [GeV] = C_CURV * B [T] * R [m]; so R [m] = p_T / (0.3 B).
C_CURV = 0.299792458

#: Liquid argon: density (g/cm^3), radiation length (cm), Z/A, mean excitation energy (MeV).
LAR_DENSITY = 1.396
LAR_X0_CM = 14.0
LAR_Z_OVER_A = 18.0 / 39.948
LAR_I_MEV = 188.0e-6

#: Bethe-Bloch constant K = 4 pi N_A r_e^2 m_e c^2 (MeV cm^2 / mol).
BETHE_K = 0.307075
ELECTRON_MASS_GEV = 0.51099895e-3
