"""The bench worker (bench/xgrad_worker.cpp) driven from Python: one process, one command a line,
one answer a line. Shared by compare_builds.py and positions.py."""
import os
import subprocess


class Worker:
    def __init__(self, path, threads):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS="1")
        self.p = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        answer = self.p.stdout.readline().strip()
        if not answer or answer.startswith("error"):
            raise RuntimeError(f"worker {self.p.args[0]} answered {answer!r} to {line!r}")
        return answer

    def close(self):
        self.p.stdin.close()
        self.p.wait()
