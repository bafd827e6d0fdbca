"""Rendering from several threads of one process must not crash it.

Pango/fontconfig segfault when two threads load font faces at once (seen in CI as a warm-up of one
documents instance racing a render of another in the same process). Run in a child process, so
a crash fails this test instead of killing the whole suite.
"""

import subprocess
import sys
import textwrap

RACE = textwrap.dedent("""
    import threading
    from services.documents.rendering import pdf

    for _ in range(10):
        pdf._stylesheet.cache_clear()
        pdf._font_config.cache_clear()
        threads = [threading.Thread(target=pdf.warm_up) for _ in range(2)]
        threads.append(threading.Thread(target=pdf.html_to_pdf, args=("<p>Kontoauszug</p>",)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print("survived")
""")


def test_warm_ups_racing_a_render_in_other_threads_do_not_crash_the_process():
    done = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "survived" in done.stdout, (done.returncode, done.stderr[-2000:])
