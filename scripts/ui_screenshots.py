"""Screenshots of the real window as a user gets it: the app launched on a virtual X desktop
(Xvfb + openbox), maximized at its default layout. Writes docs/screenshots/
{first-launch,googlenet-inception,shape-error}.png.

    python scripts/ui_screenshots.py [--out docs/screenshots] [--size 1366x768]
"""

from __future__ import annotations

from pathlib import Path

from virtual_desktop import screenshot_options, screenshot_session, shot, wait


def main() -> None:
    args = screenshot_options(__doc__).parse_args()
    with screenshot_session(args) as (app, window):
        workbench(app, window, args.out)


def workbench(app, window, out: Path) -> None:
    from explorer.core.edit import iter_blocks

    window._view_selected((3,))        # as a click on the first Inception block does
    _centre_on(window, (3,))
    shot(app, out / "first-launch.png")

    window.open_preset("googlenet")
    wait(app, lambda: window.latest_summary.name == "googlenet")
    path = next(p for p, b in iter_blocks(window.document.spec) if b.type == "inception")
    window._view_selected(path)
    window.tree.expand_path(path[:-2] if len(path) > 2 else path)
    box = next(b for b in window.diagram.diagram_layout().boxes
               if b.path == path and b.expandable)
    window.diagram.set_expanded(box.key, True)
    wait(app, at_least=0.3)
    window.diagram.select_block(path)
    window.diagram.centerOn(box.x + box.w / 2, box.y + 120)
    shot(app, out / "googlenet-inception.png")

    window.open_preset("course-inception")
    wait(app, lambda: window.latest_summary.name == "course-inception")
    generation = window.document.generation
    window._param_edited((4,), "kernel_size", 13)     # what typing 13 in the form does
    wait(app, lambda: window.latest_summary.error is not None
         and window.document.generation > generation)
    window._view_selected(None)
    window._show_block((4,))           # its form, without hiding the red rows under selection
    _centre_on(window, (4,))
    shot(app, out / "shape-error.png")


def _centre_on(window, path) -> None:
    """Scroll the diagram (at 100 %) so that the block at ``path`` is in the middle."""
    box = next(b for b in window.diagram.diagram_layout().boxes if b.path == path)
    window.diagram.centerOn(box.x + box.w / 2, box.y + box.h / 2)


if __name__ == "__main__":
    main()
