"""Procedure code → treatment type (conservative / diagnostic / therapeutic / surgery).

Rule, applied to each (mapped) procedure code of the scheme, first match wins:

1. **surgery** — the code is in the scheme's ``or_procedures`` table (operating-room list);
2. an entry of :data:`EXCEPTIONS` whose prefix the code starts with gives its type (diagnostic
   or therapeutic), each with its reason;
3. **diagnostic** — the code lies in ICD-9-CM-3 categories 87–91 (:data:`DIAGNOSTIC_CATEGORIES`)
   or in a subcategory of the operative chapters 01–86 titled "Diagnostic procedures on …"
   (:data:`DIAGNOSTIC_SUBCATEGORIES`; in CHS-DRG these are exactly the subcategories in which
   the scheme names a code "…诊断性操作", less the two listed in :data:`EXCEPTIONS`);
4. **therapeutic** — every other procedure.

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

#: Every ICD-9-CM-3 subcategory of the operative chapters 01–86 titled "Diagnostic procedures on …"
#: (code prefix, title). Nothing else of 01–86 is diagnostic: 75.1 (Diagnostic amniocentesis),
#: 77.4 (Biopsy of bone), 80.2 (Arthroscopy) and 80.3 (Biopsy of joint structure) are not so titled.
DIAGNOSTIC_SUBCATEGORIES: tuple[tuple[str, str], ...] = (
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
    ("41.3", "Diagnostic procedures on bone marrow and spleen"),
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
    ("76.1", "Diagnostic procedures on facial bones and joints"),
    ("78.8", "Diagnostic procedures on bone, not elsewhere classified"),
    ("83.2", "Diagnostic procedures on muscle, tendon, fascia, and bursa"),
    ("85.1", "Diagnostic procedures on breast"),
    ("86.1", "Diagnostic procedures on skin and subcutaneous tissue"),
)

#: ICD-9-CM-3 categories of chapter 16 that are diagnostic as a whole.
DIAGNOSTIC_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("87", "Diagnostic radiology"),
    ("88", "Other diagnostic radiology and related techniques"),
    ("89", "Interview, evaluation, consultation, and examination"),
    ("90", "Microscopic examination - I"),
    ("91", "Microscopic examination - II"),
)

#: Exceptions to the two lists above: (code prefix, treatment type, reason). The longest matching
#: prefix wins over the lists.
EXCEPTIONS: tuple[tuple[str, str, str], ...] = (
    ("92.0", "diagnostic", "Radioisotope scan and function study: an examination, outside 87–91"),
    ("92.1", "diagnostic", "Other radioisotope scan: an examination, outside 87–91"),
    ("94.0", "diagnostic", "Psychologic evaluation and testing: an evaluation, outside 87–91"),
    ("94.1", "diagnostic", "Psychiatric interviews, consultations, and evaluations: outside 87–91"),
    ("95.0", "diagnostic", "General and subjective eye examination: outside 87–91"),
    ("95.1", "diagnostic", "Examinations of form and structure of eye: outside 87–91"),
    ("95.2", "diagnostic", "Objective functional tests of eye: outside 87–91"),
    ("95.41", "diagnostic", "Audiometry: a test, outside 87–91"),
    ("95.42", "diagnostic", "Clinical test of hearing: outside 87–91"),
    ("95.43", "diagnostic", "Audiological evaluation: outside 87–91"),
    ("95.44", "diagnostic", "Clinical vestibular function tests: outside 87–91"),
    ("95.45", "diagnostic", "Rotation tests: outside 87–91"),
    ("95.46", "diagnostic", "Other auditory and vestibular function tests: outside 87–91"),
    ("95.47", "diagnostic", "Hearing examination, not otherwise specified: outside 87–91"),
    ("75.3", "therapeutic", "Other intrauterine operations on fetus and amnion: CHS-DRG names one "
     "诊断性操作 code (75.35) in it, but the subcategory is not titled 'Diagnostic procedures on …'"),
    ("81.9", "therapeutic", "Other operations on joint structures: CHS-DRG names one 诊断性操作 code "
     "(81.98) in it, but the subcategory is not titled 'Diagnostic procedures on …'"),
)

#: (code prefix, title) of every range taken as diagnostic: the two lists plus the diagnostic
#: exceptions (kept for readers of the old name).
DIAGNOSTIC_RANGES: tuple[tuple[str, str], ...] = (
    DIAGNOSTIC_SUBCATEGORIES + DIAGNOSTIC_CATEGORIES
    + tuple((p, r.split(":")[0]) for p, t, r in EXCEPTIONS if t == "diagnostic")
)


def treatment_types(codes: pd.Series | np.ndarray | list[str], or_codes: set[str] | pd.Series) -> np.ndarray:
    """Treatment type code (int8, see :data:`TREATMENTS`) of each procedure code.

    Vectorised over the scheme's code vocabulary (not per case).
    """
    s = pd.Series(np.asarray(codes, dtype=object), dtype="str")
    out = np.full(len(s), THERAPEUTIC, dtype=np.int8)
    prefixes = tuple(p for p, _ in DIAGNOSTIC_SUBCATEGORIES + DIAGNOSTIC_CATEGORIES)
    out[s.str.startswith(prefixes).to_numpy(dtype=bool, na_value=False)] = DIAGNOSTIC
    for prefix, kind, _reason in sorted(EXCEPTIONS, key=lambda e: len(e[0])):
        hit = s.str.startswith(prefix).to_numpy(dtype=bool, na_value=False)
        out[hit] = DIAGNOSTIC if kind == "diagnostic" else THERAPEUTIC
    or_set = pd.Series(list(or_codes), dtype="str") if not isinstance(or_codes, pd.Series) else or_codes
    out[s.isin(or_set).to_numpy(dtype=bool)] = SURGERY
    return out
