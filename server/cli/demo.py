"""`hirestream demo`: a sample requisition and interview, and the links to try them."""

from __future__ import annotations

import json

from hr_bridge import interviews as db
from server.resources import open_database
from server.settings import Settings
from server.web.api import interview_links
from server.web.auth import Auth

SAMPLE = {
    "en": {
        "title": "Customer support lead (sample)",
        "competencies": [
            {"name": "communication", "weight": 3},
            {"name": "logical structure", "weight": 2},
            {"name": "job knowledge", "weight": 2},
            {"name": "engagement", "weight": 1},
            {"name": "composure", "weight": 2},
        ],
        "questions": [
            {"text": "Please introduce yourself and your most recent role.", "time_limit_s": 120},
            {
                "text": "Tell us about a time you calmed down an upset customer.",
                "time_limit_s": 180,
                "targets": ["composure", "communication"],
                "concepts": [
                    "listen",
                    {"name": "apology", "synonyms": ["apologize", "sorry"]},
                    "solution",
                    "follow up",
                ],
            },
            {
                "text": "How do you decide what to work on first when everything is urgent?",
                "time_limit_s": 120,
            },
        ],
    },
    "zh": {
        "title": "客户支持主管（示例）",
        "competencies": ["沟通能力", "逻辑结构", "专业知识", "抗压能力"],
        "questions": [
            {"text": "请介绍一下您自己和您最近的工作。", "time_limit_s": 120},
            {"text": "请讲一次您安抚不满客户的经历。", "time_limit_s": 180},
        ],
    },
}


def run_demo(settings: Settings, language: str, as_json: bool, affect: bool) -> int:
    engine = open_database(settings)
    try:
        sample = SAMPLE[language]
        req = db.create_requisition(engine, language=language, **sample)
        iv = db.create_interview(
            engine, requisition_id=req.id, candidate_name="Sample Candidate", affect_allowed=affect
        )
        links = interview_links(settings, Auth(settings), iv, 1)
    finally:
        engine.dispose()
    out = {"requisition_id": req.id, "interview_id": iv.id, **links}
    if as_json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(f"requisition {req.id}: {sample['title']}")
        print(f"interview   {iv.id} (start the server with `make run` first)")
        print(f"candidate   {links['candidate_url']}")
        print(f"interviewer {links['interviewer_urls'][0]}")
        print(f"the candidate link is single-use and expires {links['invite_expires_at']}")
    return 0
