"""Drives a study's report.html in headless Debian Chromium (Playwright over the DevTools
protocol) as a reader would, and prints what it measured as one JSON object on stdout; the
assertions are tests/report_player.rs's.

Usage: report_player.py REPORT_HTML SCREENSHOT_PNG
Needs /usr/bin/chromium (Debian's chromium) and PyPI playwright in .venv (scripts/setup
installs both; Playwright's own browser downloads are never used)."""
import json
import pathlib
import sys

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Each wait is bounded: a page that never gets there fails the test, it does not hang it.
TIMEOUT_MS = 20_000

PLAYER = "document.getElementById('player')"
# Resolves once the player has finished seeking (or at once when it is not seeking).
SEEKED = f"""() => new Promise(done => {{
  const v = {PLAYER};
  if (!v.seeking) return done(v.currentTime);
  v.addEventListener('seeked', () => done(v.currentTime), {{once: true}});
}})"""
IN_VIEW = f"""() => {{
  const r = {PLAYER}.getBoundingClientRect();
  return r.top > -1 && r.bottom < window.innerHeight + 1;
}}"""


def video_state(page):
    return page.evaluate(f"""() => {{
      const v = {PLAYER};
      return {{ready: v.readyState, duration: v.duration, width: v.videoWidth,
               height: v.videoHeight, error: v.error && v.error.code, time: v.currentTime}};
    }}""")


def rewind(page):
    """Back to 0 s, so that the next seek is seen to happen."""
    page.evaluate(f"() => {{ {PLAYER}.currentTime = 0; }}")
    page.evaluate(SEEKED)


def click_seek(page, target, act):
    """Scrolls the player out of view and `target` (a locator) into view, runs `act`, waits for
    the seek; returns the player's time and whether the player was in view before and after."""
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    target.scroll_into_view_if_needed()
    before = page.evaluate(IN_VIEW)
    act()
    return {"time": page.evaluate(SEEKED), "in_view_before": before, "in_view": page.evaluate(IN_VIEW)}


def plot_geometry(page):
    """The plot's data attributes, its viewBox, its size on screen and its time-axis ticks (the
    labels drawn under the axis, m:ss, and their x in SVG units)."""
    svg = page.locator("svg.plot")
    svg.scroll_into_view_if_needed()
    return svg.evaluate("""s => {
      const d = s.dataset, vb = s.viewBox.baseVal, r = s.getBoundingClientRect();
      const ticks = [...s.querySelectorAll('text.tick')]
        .filter(t => t.textContent.includes(':'))
        .map(t => ({label: t.textContent, x: +t.getAttribute('x')}));
      return {t0: +d.t0, t1: +d.t1, x0: +d.x0, x1: +d.x1, vb_x: vb.x, vb_w: vb.width,
              vb_y: vb.y, vb_h: vb.height, left: r.left, top: r.top, width: r.width,
              height: r.height, ticks};
    }""")


def click_plot(page, g, x_svg):
    """Clicks the plot at the whole pixel nearest SVG x `x_svg`, halfway up; returns the
    click's client x and the plot's left edge and width on screen then."""
    svg = page.locator("svg.plot")
    at = {}

    def click():
        r = svg.evaluate("s => s.getBoundingClientRect().toJSON()")
        x = round(r["left"] + (x_svg - g["vb_x"]) * r["width"] / g["vb_w"])
        at.update(x_client=x, left=r["left"], width=r["width"])
        page.mouse.click(x, r["top"] + r["height"] * 0.45)

    return dict(click_seek(page, svg, click), **at)


def played(page):
    """Plays muted for about half a second from the current time: does the picture advance?"""
    return page.evaluate(f"""() => new Promise(done => {{
      const v = {PLAYER}, from = v.currentTime;
      v.muted = true;
      v.play().then(() => setTimeout(() => {{ v.pause();
        const q = v.getVideoPlaybackQuality();
        done({{from, to: v.currentTime, frames: q.totalVideoFrames}}); }}, 600),
        e => done({{error: String(e)}}));
    }})""")


def drive(page, report, shot):
    out = {"page_errors": [], "console_errors": []}
    page.on("pageerror", lambda e: out["page_errors"].append(str(e)))
    page.on("console", lambda m: m.type == "error" and out["console_errors"].append(m.text))
    page.goto(report.as_uri())
    page.wait_for_function(f"{PLAYER} && ({PLAYER}.readyState >= 1 || {PLAYER}.error)")
    out["metadata"] = video_state(page)
    rows = page.locator("tr.seg")
    out["rows"] = rows.evaluate_all("rs => rs.map(r => r.dataset.t)")
    out["thumbs"] = page.locator("tr.seg img").evaluate_all("is => is.map(i => i.dataset.t)")
    out["focusable"] = rows.evaluate_all("rs => rs.map(r => r.tabIndex)")
    n = rows.count()
    pick = 1 if n > 1 else 0
    out["pick"] = pick
    cell = rows.nth(pick).locator("td").nth(2)
    out["row_click"] = click_seek(page, cell, cell.click)
    out["after_seek"] = video_state(page)
    rewind(page)
    thumb = rows.nth(pick).locator("img")
    out["thumb_click"] = click_seek(page, thumb, thumb.click)
    rewind(page)
    first = rows.nth(0)
    out["enter_key"] = click_seek(page, first, lambda: (first.focus(), page.keyboard.press("Enter")))
    g = plot_geometry(page)
    out["plot"] = g
    inner = [t for t in g["ticks"][1:] if g["x0"] < t["x"] < g["x1"]]
    tick = inner[len(inner) // 2]
    out["tick_click"] = dict(click_plot(page, g, tick["x"]), label=tick["label"])
    frac = 0.37
    out["frac_click"] = dict(click_plot(page, g, g["x0"] + frac * (g["x1"] - g["x0"])), frac=frac)
    out["head"] = page.locator("svg.plot line.head").evaluate(
        "l => ({x: +l.getAttribute('x1'), visibility: l.getAttribute('visibility')})")
    out["play"] = played(page)
    # The screenshot: the player (showing the last frame sought) above the plot.
    page.evaluate(f"() => {{ {PLAYER}.currentTime = {out['rows'][pick] if n else 0}; }}")
    page.evaluate(SEEKED)
    page.evaluate(f"() => {PLAYER}.scrollIntoView({{block: 'start'}})")
    page.wait_for_timeout(300)
    page.screenshot(path=str(shot), full_page=False)
    return out


def main():
    report, shot = pathlib.Path(sys.argv[1]).resolve(), pathlib.Path(sys.argv[2])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            out = drive(page, report, shot)
            out["browser"] = browser.version
        finally:
            browser.close()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
