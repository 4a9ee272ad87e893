/**
 * A seccomp deny-list for sandboxed instances, assembled as classic BPF and
 * handed to bubblewrap (`--seccomp FD`). In the spirit of Flatpak's filter:
 * everything is allowed except system calls that open large kernel surfaces
 * or manage the machine (namespaces, mounts, keyrings, BPF, io_uring,
 * perf_event_open, ptrace, modules, clocks), which fail with EPERM. clone3
 * fails with ENOSYS so libc falls back to clone, whose namespace flags are
 * checked. System calls of any other ABI (32-bit x86, x32) fail with ENOSYS,
 * so they cannot be used to slip past the filter.
 */
import { MicrosError } from "../../shared/errors.js";

/** Numbers from the kernel's tables: x86_64's own, and the generic one that arm64 uses. */
const DENIED: Record<string, { x64: number; arm64: number }> = {
  unshare: { x64: 272, arm64: 97 },
  setns: { x64: 308, arm64: 268 },
  mount: { x64: 165, arm64: 40 },
  umount2: { x64: 166, arm64: 39 },
  pivot_root: { x64: 155, arm64: 41 },
  chroot: { x64: 161, arm64: 51 },
  open_tree: { x64: 428, arm64: 428 },
  move_mount: { x64: 429, arm64: 429 },
  fsopen: { x64: 430, arm64: 430 },
  fsconfig: { x64: 431, arm64: 431 },
  fsmount: { x64: 432, arm64: 432 },
  fspick: { x64: 433, arm64: 433 },
  mount_setattr: { x64: 442, arm64: 442 },
  add_key: { x64: 248, arm64: 217 },
  request_key: { x64: 249, arm64: 218 },
  keyctl: { x64: 250, arm64: 219 },
  bpf: { x64: 321, arm64: 280 },
  perf_event_open: { x64: 298, arm64: 241 },
  userfaultfd: { x64: 323, arm64: 282 },
  io_uring_setup: { x64: 425, arm64: 425 },
  io_uring_enter: { x64: 426, arm64: 426 },
  io_uring_register: { x64: 427, arm64: 427 },
  ptrace: { x64: 101, arm64: 117 },
  process_vm_readv: { x64: 310, arm64: 270 },
  process_vm_writev: { x64: 311, arm64: 271 },
  kexec_load: { x64: 246, arm64: 104 },
  kexec_file_load: { x64: 320, arm64: 294 },
  init_module: { x64: 175, arm64: 105 },
  finit_module: { x64: 313, arm64: 273 },
  delete_module: { x64: 176, arm64: 106 },
  acct: { x64: 163, arm64: 89 },
  swapon: { x64: 167, arm64: 224 },
  swapoff: { x64: 168, arm64: 225 },
  reboot: { x64: 169, arm64: 142 },
  syslog: { x64: 103, arm64: 116 },
  quotactl: { x64: 179, arm64: 60 },
  name_to_handle_at: { x64: 303, arm64: 264 },
  open_by_handle_at: { x64: 304, arm64: 265 },
  lookup_dcookie: { x64: 212, arm64: 18 },
  fanotify_init: { x64: 300, arm64: 262 },
  vmsplice: { x64: 278, arm64: 75 },
  settimeofday: { x64: 164, arm64: 170 },
  clock_settime: { x64: 227, arm64: 112 },
  clock_adjtime: { x64: 305, arm64: 266 },
  adjtimex: { x64: 159, arm64: 171 },
  sethostname: { x64: 170, arm64: 161 },
  setdomainname: { x64: 171, arm64: 162 },
  nfsservctl: { x64: 180, arm64: 42 },
};

const CLONE = { x64: 56, arm64: 220 };
const CLONE3 = { x64: 435, arm64: 435 };

const ARCHES = {
  x64: { audit: 0xc000003e, x32Bit: 0x40000000 },
  arm64: { audit: 0xc00000b7, x32Bit: undefined },
} as const;

// clone() flags that create namespaces: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
const CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

const EPERM = 1;
const ENOSYS = 38;

// Classic BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const retErrno = (errno: number) => 0x00050000 | errno;

// Offsets into struct seccomp_data: nr, arch, then args[] (little-endian: the low half of args[0]).
const NR = 0;
const ARCH = 4;
const ARG0_LOW = 16;

type Instruction = [code: number, jt: number, jf: number, k: number];

/** The filter for the machine this server runs on. */
export function seccompFilter(arch: string = process.arch): Buffer {
  const key = arch === "x64" ? "x64" : arch === "arm64" ? "arm64" : undefined;
  if (!key) {
    throw new MicrosError(
      "ERR_SANDBOX_UNAVAILABLE",
      `No seccomp filter for the ${arch} architecture (x64 and arm64 are supported).`,
    );
  }
  const { audit, x32Bit } = ARCHES[key];
  const program: Instruction[] = [
    [LD_W_ABS, 0, 0, ARCH],
    [JEQ_K, 1, 0, audit],
    [RET_K, 0, 0, retErrno(ENOSYS)],
    [LD_W_ABS, 0, 0, NR],
  ];
  if (x32Bit !== undefined) program.push([JGE_K, 0, 1, x32Bit], [RET_K, 0, 0, retErrno(ENOSYS)]);
  // Each check is "if equal, fall into the next instruction (the return), else skip it".
  for (const numbers of Object.values(DENIED))
    program.push([JEQ_K, 0, 1, numbers[key]], [RET_K, 0, 0, retErrno(EPERM)]);
  program.push([JEQ_K, 0, 1, CLONE3[key]], [RET_K, 0, 0, retErrno(ENOSYS)]);
  program.push(
    [JEQ_K, 0, 3, CLONE[key]],
    [LD_W_ABS, 0, 0, ARG0_LOW],
    [JSET_K, 0, 1, CLONE_NAMESPACES],
    [RET_K, 0, 0, retErrno(EPERM)],
    [RET_K, 0, 0, RET_ALLOW],
  );
  const buffer = Buffer.alloc(program.length * 8);
  program.forEach(([code, jt, jf, k], index) => {
    buffer.writeUInt16LE(code, index * 8);
    buffer.writeUInt8(jt, index * 8 + 2);
    buffer.writeUInt8(jf, index * 8 + 3);
    buffer.writeUInt32LE(k >>> 0, index * 8 + 4);
  });
  return buffer;
}
