"""Write content/results_2016_sample.csv: SAMPLE ratings for every region (not real results).

Seeded, so the file is the same on every run. Each region gets a profile (strong, average,
weak) so the sample shows every overall rating. Documents rendered from a results file whose
name contains "sample" carry a visible 样例 mark.
"""

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.content import load_content  # noqa: E402
from pipeline.output import atomic_write  # noqa: E402
from pipeline.results import Record, records_csv  # noqa: E402
from pipeline.errors import Problem  # noqa: E402

PROFILES = {  # weights of 优秀, 达标, 未达标
    "strong": (0.85, 0.15, 0.0),
    "average": (0.55, 0.45, 0.0),
    "weak": (0.45, 0.47, 0.08),
}


def main() -> None:
    content = load_content(ROOT / "content" / "tasks_2016.yaml")
    rng = random.Random(2016)
    records = []
    for region in content.regions.regions:
        profile = rng.choices(list(PROFILES), weights=(5, 4, 1))[0]
        for task in content.tasks.tasks_for_region(region):
            rating = rng.choices(["优秀", "达标", "未达标"], weights=PROFILES[profile])[0]
            self_rating = "优秀" if rating == "优秀" or rng.random() < 0.3 else rating
            records.append(Record(Problem("", None, ""), region.name, task.id, rating, self_rating, ""))
    target = ROOT / "content" / "results_2016_sample.csv"
    atomic_write(target, records_csv(records))
    print(f"wrote {target} ({len(records)} rows, SAMPLE data)")


if __name__ == "__main__":
    main()
