"""Screenshots of the lab in the real window: the app launched on a virtual X desktop (Xvfb +
openbox), maximized at its default layout, settings and runs in a temporary folder.

    python scripts/lab_screenshots.py [--out docs/screenshots] [--size 1366x768] [--epochs 3]

Writes ``gradient-lab.png`` (plain56 and resnet56 at initialisation), ``diff.png`` (plain20
against resnet20), ``depth-experiment.png`` (the four networks trained ``--epochs`` epochs on
the bundled sample: minutes) and ``compare-runs.png`` (those four runs compared).
"""

from __future__ import annotations

from virtual_desktop import screenshot_options, screenshot_session, shot, wait


def main() -> None:
    parser = screenshot_options(__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    with screenshot_session(args) as (app, window):
        lab = window.lab
        wait(app, lambda: lab.gradients.pickers[0].network.count() > 1)
        lab.show_view("gradients")                  # plain56 against resnet56, by default
        wait(app, lambda: None not in lab.gradients.profiles, timeout=600)
        shot(app, args.out / "gradient-lab.png")

        lab.diff.set_sides(("preset", "plain20"), ("preset", "resnet20"))
        lab.show_view("diff")
        wait(app, lambda: lab.diff.diff is not None and lab.diff.diff.new.name == "resnet20")
        shot(app, args.out / "diff.png")

        view = lab.gradients
        lab.show_view("gradients")
        view.tabs.setCurrentIndex(1)                 # Depth experiment
        view.epochs.setValue(args.epochs)
        view.run_button.click()
        wait(app, lambda: lab.experiment_running, timeout=30)
        wait(app, lambda: not lab.experiment_running, timeout=3600)
        shot(app, args.out / "depth-experiment.png")

        lab.show_view("compare")
        wait(app, lambda: len(lab.compare.runs) == 4, timeout=120)
        shot(app, args.out / "compare-runs.png")


if __name__ == "__main__":
    main()
