#!/usr/bin/env python3
"""Boot an ingot image under QEMU with a given kernel; time it; optionally stop it gracefully.

    kernel/boot-test.py --kernel VMLINUX --initrd INITRD --cmdline "..." [--port 18080]
                        [--accel tcg] [--cad] [--log FILE] [--qemu-arg=-icount --qemu-arg=shift=0]

Prints one JSON line: seconds from QEMU start to the first HTTP 200 on /health, the
`ingot-init: [S.SSS] init started` timestamp (guest clock), and with --cad whether
Ctrl-Alt-Del (QMP send-key) made init say "stopping app" and QEMU exit, and how long it took.
The QEMU command line mirrors src/vm/qemu-args.ts. Only the QEMU it starts is ever killed.
"""
import argparse, json, os, re, socket, subprocess, sys, tempfile, time, urllib.request

p = argparse.ArgumentParser()
p.add_argument("--kernel", required=True)
p.add_argument("--initrd", required=True)
p.add_argument("--cmdline", required=True)
p.add_argument("--port", type=int, default=18080)
p.add_argument("--accel", default="tcg")
p.add_argument("--smp", default="1")
p.add_argument("--mem", default="512")
p.add_argument("--timeout", type=float, default=180)
p.add_argument("--cad", action="store_true")
p.add_argument("--log")
p.add_argument("--qemu-arg", action="append", default=[], help="extra QEMU argument, e.g. --qemu-arg=-icount --qemu-arg=shift=0")
a = p.parse_args()

tmp = tempfile.mkdtemp(prefix="ingot-boot-")
qmp_path = os.path.join(tmp, "qmp.sock")
log_path = a.log or os.path.join(tmp, "console.log")
cmd = ["qemu-system-x86_64", "-machine", f"q35,accel={a.accel}", "-cpu", "max" if a.accel == "tcg" else "host",
       "-smp", a.smp, "-m", a.mem, "-nodefaults", "-nographic", "-serial", "stdio", "-no-reboot",
       "-kernel", a.kernel, "-initrd", a.initrd, "-append", a.cmdline,
       "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{a.port}-:8080",
       "-device", "virtio-net-pci,netdev=n0,romfile=",
       "-qmp", f"unix:{qmp_path},server=on,wait=off", *a.qemu_arg]
log = open(log_path, "wb")
start = time.monotonic()
qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
result = {"kernel": a.kernel}


def console():
    with open(log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


try:
    while time.monotonic() - start < a.timeout and qemu.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{a.port}/health", timeout=1) as r:
                if r.status == 200:
                    result["http200_s"] = round(time.monotonic() - start, 3)
                    break
        except Exception:
            pass
        time.sleep(0.05)
    m = re.search(r"ingot-init: \[\s*([0-9.]+)\] init started", console())
    result["init_started_s"] = float(m.group(1)) if m else None
    if "http200_s" not in result:
        result["error"] = "no HTTP 200" + (" (QEMU exited)" if qemu.poll() is not None else "")
    if a.cad and qemu.poll() is None:
        s = socket.socket(socket.AF_UNIX)
        s.connect(qmp_path)
        f = s.makefile("rw")
        f.readline()
        for msg in ({"execute": "qmp_capabilities"},
                    {"execute": "send-key", "arguments": {"keys": [{"type": "qcode", "data": k} for k in ("ctrl", "alt", "delete")]}}):
            f.write(json.dumps(msg) + "\n"); f.flush(); f.readline()
        t0 = time.monotonic()
        try:
            qemu.wait(timeout=30)
            result["cad_exit_s"] = round(time.monotonic() - t0, 3)
        except subprocess.TimeoutExpired:
            result["cad_exit_s"] = None
        out = console()
        result["cad_stopping_app"] = "stopping app" in out
finally:
    if qemu.poll() is None:
        qemu.kill()
        qemu.wait()
    log.close()
result["log"] = log_path
print(json.dumps(result))
