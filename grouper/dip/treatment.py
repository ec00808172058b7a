"""Procedure code → treatment type (conservative / diagnostic / therapeutic / surgery).

Rule, applied to each (mapped) procedure code of the scheme, first match wins:

1. **surgery** — the code is in the scheme's ``or_procedures`` table (operating-room list);
2. **diagnostic** — the code lies in an ICD-9-CM-3 range whose title is diagnostic
   (:data:`DIAGNOSTIC_RANGES`: chapter 16's diagnostic categories 87–91, the scan, evaluation and
   test subcategories of 92, 94 and 95, and every "Diagnostic procedures on …" subcategory of
   the operative chapters 01–86, which hold biopsies, endoscopies and catheterisations);
3. **therapeutic** — every other procedure.

A case's treatment type is the most intensive type among its procedures (surgery >
therapeutic > diagnostic), and *conservative* when it has none. Matching is by code prefix, so
the 医保版 extensions (``45.1300x003``) fall in their ICD-9-CM-3 subcategory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import TREATMENTS

CONSERVATIVE, DIAGNOSTIC, THERAPEUTIC, SURGERY = range(4)
assert TREATMENTS[SURGERY] == "surgery"

#: (code prefix, ICD-9-CM-3 title) of every range taken as purely diagnostic.
DIAGNOSTIC_RANGES: tuple[tuple[str, str], ...] = (
    ("01.1", "Diagnostic procedures on skull, brain, and cerebral meninges"),
    ("03.3", "Diagnostic procedures on spinal cord and spinal canal structures"),
    ("04.1", "Diagnostic procedures on peripheral nerves"),
    ("05.1", "Diagnostic procedures on sympathetic nerves or ganglia"),
    ("06.1", "Diagnostic procedures on thyroid and parathyroid glands"),
    ("07.1", "Diagnostic procedures on adrenal, pituitary, pineal glands and thymus"),
    ("08.1", "Diagnostic procedures on eyelid"),
    ("09.1", "Diagnostic procedures on lacrimal system"),
    ("10.2", "Diagnostic procedures on conjunctiva"),
    ("11.2", "Diagnostic procedures on cornea"),
    ("12.2", "Diagnostic procedures on iris, ciliary body, sclera, and anterior chamber"),
    ("14.1", "Diagnostic procedures on retina, choroid, vitreous, and posterior chamber"),
    ("15.0", "Diagnostic procedures on extraocular muscles or tendons"),
    ("16.2", "Diagnostic procedures on orbit and eyeball"),
    ("18.1", "Diagnostic procedures on external ear"),
    ("20.3", "Diagnostic procedures on middle and inner ear"),
    ("21.2", "Diagnostic procedures on nose"),
    ("22.1", "Diagnostic procedures on nasal sinus"),
    ("24.1", "Diagnostic procedures on teeth, gums, and alveoli"),
    ("25.0", "Diagnostic procedures on tongue"),
    ("26.1", "Diagnostic procedures on salivary glands and ducts"),
    ("27.2", "Diagnostic procedures on oral cavity"),
    ("28.1", "Diagnostic procedures on tonsils and adenoids"),
    ("29.1", "Diagnostic procedures on pharynx"),
    ("31.4", "Diagnostic procedures on larynx and trachea"),
    ("33.2", "Diagnostic procedures on lung and bronchus"),
    ("34.2", "Diagnostic procedures on chest wall, pleura, mediastinum, and diaphragm"),
    ("37.2", "Diagnostic procedures on heart and pericardium"),
    ("38.2", "Diagnostic procedures on blood vessels"),
    ("40.1", "Diagnostic procedures on lymphatic structures"),
    ("42.2", "Diagnostic procedures on esophagus"),
    ("44.1", "Diagnostic procedures on stomach"),
    ("45.1", "Diagnostic procedures on small intestine"),
    ("45.2", "Diagnostic procedures on large intestine"),
    ("48.2", "Diagnostic procedures on rectum, rectosigmoid, and perirectal tissue"),
    ("49.2", "Diagnostic procedures on anus and perianal tissue"),
    ("50.1", "Diagnostic procedures on liver"),
    ("51.1", "Diagnostic procedures on biliary tract"),
    ("52.1", "Diagnostic procedures on pancreas"),
    ("54.2", "Diagnostic procedures on abdominal region"),
    ("55.2", "Diagnostic procedures on kidney"),
    ("56.3", "Diagnostic procedures on ureter"),
    ("57.3", "Diagnostic procedures on bladder"),
    ("58.2", "Diagnostic procedures on urethra"),
    ("59.2", "Diagnostic procedures on perirenal and perivesical tissue"),
    ("60.1", "Diagnostic procedures on prostate and seminal vesicles"),
    ("61.1", "Diagnostic procedures on scrotum and tunica vaginalis"),
    ("62.1", "Diagnostic procedures on testes"),
    ("63.0", "Diagnostic procedures on spermatic cord, epididymis, and vas deferens"),
    ("64.1", "Diagnostic procedures on the penis"),
    ("65.1", "Diagnostic procedures on ovaries"),
    ("66.1", "Diagnostic procedures on fallopian tubes"),
    ("67.1", "Diagnostic procedures on cervix"),
    ("68.1", "Diagnostic procedures on uterus and supporting structures"),
    ("70.2", "Diagnostic procedures on vagina and cul-de-sac"),
    ("71.1", "Diagnostic procedures on vulva"),
    ("75.1", "Diagnostic amniocentesis"),
    ("76.1", "Diagnostic procedures on facial bones and joints"),
    ("77.4", "Biopsy of bone"),
    ("78.8", "Diagnostic procedures on bone, not elsewhere classified"),
    ("80.2", "Arthroscopy"),
    ("80.3", "Biopsy of joint structure"),
    ("83.2", "Diagnostic procedures on muscle, tendon, fascia, and bursa"),
    ("85.1", "Diagnostic procedures on breast"),
    ("86.1", "Diagnostic procedures on skin and subcutaneous tissue"),
    ("87", "Diagnostic radiology"),
    ("88", "Other diagnostic radiology and related techniques"),
    ("89", "Interview, evaluation, consultation, and examination"),
    ("90", "Microscopic examination - I"),
    ("91", "Microscopic examination - II"),
    ("92.0", "Radioisotope scan and function study"),
    ("92.1", "Other radioisotope scan"),
    ("94.0", "Psychologic evaluation and testing"),
    ("94.1", "Psychiatric interviews, consultations, and evaluations"),
    ("95.0", "General and subjective eye examination"),
    ("95.1", "Examinations of form and structure of eye"),
    ("95.2", "Objective functional tests of eye"),
    ("95.41", "Audiometry"),
    ("95.42", "Clinical test of hearing"),
    ("95.43", "Audiological evaluation"),
    ("95.44", "Clinical vestibular function tests"),
    ("95.45", "Rotation tests"),
    ("95.46", "Other auditory and vestibular function tests"),
    ("95.47", "Hearing examination, not otherwise specified"),
)


def treatment_types(codes: pd.Series | np.ndarray | list[str], or_codes: set[str] | pd.Series) -> np.ndarray:
    """Treatment type code (int8, see :data:`TREATMENTS`) of each procedure code.

    Vectorised over the scheme's code vocabulary (not per case).
    """
    s = pd.Series(np.asarray(codes, dtype=object), dtype="str")
    out = np.full(len(s), THERAPEUTIC, dtype=np.int8)
    prefixes = tuple(p for p, _ in DIAGNOSTIC_RANGES)
    out[s.str.startswith(prefixes).to_numpy(dtype=bool, na_value=False)] = DIAGNOSTIC
    or_set = pd.Series(list(or_codes), dtype="str") if not isinstance(or_codes, pd.Series) else or_codes
    out[s.isin(or_set).to_numpy(dtype=bool)] = SURGERY
    return out
