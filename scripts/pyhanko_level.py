#!/usr/bin/env python3
"""Independent PAdES check for the tests (pyHanko, never used by the product).

Usage: pyhanko_level.py PDF ROOT.pem [ROOT.pem ...]

Runs pyHanko's ETSI EN 319 102-1 long-term (LTA) validation of the PDF's one signature,
offline: revocation data must come from the file itself (its /DSS), with the given roots
(the signer's CA, the TSA's CA) as the only trust anchors, and revocation data REQUIRED for
every certificate. Then prints what pyHanko saw, one `key: value` per line, for the test to
read:

  level: B-B | B-T | B-LT | B-LTA   (from pyHanko's own view of the file: a valid signature
                                    timestamp, a DSS, a valid document timestamp)
  ades: <AdES indication / subindication of the LTA validation>
  ...
"""

import asyncio
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import ades
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager


async def main(path, roots):
    trust = SimpleTrustManager.build(trust_roots=[load_cert_from_pemder(r) for r in roots])
    policy = CertValidationPolicySpec(trust_manager=trust, revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO))
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=policy,
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )
    with open(path, "rb") as f:
        r = PdfFileReader(f)
        sigs = r.embedded_regular_signatures
        stamps = r.embedded_timestamp_signatures
        print(f"signatures: {len(sigs)}")
        print(f"document_timestamps: {len(stamps)}")
        sig = sigs[0]
        result = await ades.ades_lta_validation(sig, spec)
        status = result.api_status
        print(f"ades: {result.ades_subindic}")
        print(f"ades_status: {result.ades_subindic.status.name}")
        print(f"intact: {status.intact}")
        print(f"valid: {status.valid}")
        print(f"trusted: {status.trusted}")
        print(f"best_signature_time: {result.best_signature_time.isoformat()}")
        ts = status.timestamp_validity
        print(f"signature_timestamp: {ts is not None and ts.intact and ts.valid and ts.trusted}")
        print(f"dss: {r.root.get('/DSS') is not None}")
        print(f"oldest_document_timestamp: {result.oldest_evidence_record_timestamp}")
        level = "B-B"
        if ts is not None and ts.intact and ts.valid:
            level = "B-T"
            if r.root.get("/DSS") is not None:
                level = "B-LT"
                if stamps and result.oldest_evidence_record_timestamp is not None:
                    level = "B-LTA"
        print(f"level: {level}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
