import subprocess
import sys


def test_prints_greeting():
    out = subprocess.run([sys.executable, "hello.py"], capture_output=True, text=True).stdout
    assert out.strip() == "Hello, World!"
