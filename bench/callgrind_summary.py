#!/usr/bin/env python3
"""Summarize a callgrind profile of adjoint_profile per unit of work.

Prints the instructions executed per unit, split by the source file of each
executed line, so that code inlined from a header counts for that header.
Then prints the lock-prefixed instructions per unit, by function: these are
the atomic read-modify-writes, such as shared_ptr reference count updates.

Record the profile with per-instruction positions:

  valgrind --tool=callgrind --dump-instr=yes --compress-pos=no \
      --toggle-collect='*run_iterations*' --callgrind-out-file=OUT \
      build/bench/bench/adjoint_profile w5_tensor 1000

then run `callgrind_summary.py OUT BINARY UNITS`, where UNITS is the number
of units in the profiled loop (1000 iterations of 100 operations: 100000).
adjoint_profile is linked without position-independent code, so the
addresses in OUT are the addresses that objdump prints for BINARY.
"""

import argparse
import collections
import os
import re
import subprocess
import sys

NAME = re.compile(r"^\((\d+)\)(?: (.*))?$")


def resolve(names, value):
    """Returns the name in `value`, which callgrind may compress to "(id)"."""
    match = NAME.match(value)
    if not match:
        return value
    number, name = match.groups()
    if name is not None:
        names[number] = name
    return names.get(number, value)


def read_costs(path, binary):
    """Returns the self cost by source file and by address in `binary`."""
    by_file = collections.Counter()
    by_address = collections.Counter()
    names = {"ob": {}, "fl": {}, "fn": {}}
    current_object = current_file = None
    after_calls = False
    with open(path) as profile:
        for line in profile:
            if line.startswith("0x"):
                if after_calls:
                    # The line after calls= is the inclusive cost of a call.
                    after_calls = False
                    continue
                fields = line.split()
                if len(fields) < 3:
                    continue
                cost = int(fields[2])
                by_file[current_file] += cost
                if current_object is not None and os.path.realpath(current_object) == binary:
                    by_address[int(fields[0], 16)] += cost
                continue
            after_calls = line.startswith("calls=")
            key, _, value = line.rstrip("\n").partition("=")
            if key == "ob":
                current_object = resolve(names["ob"], value)
            elif key in ("fl", "fi", "fe"):
                current_file = resolve(names["fl"], value)
            elif key in ("cob", "cfi", "cfl", "cfn", "fn"):
                if key == "cob":
                    resolve(names["ob"], value)
                elif key in ("fn", "cfn"):
                    resolve(names["fn"], value)
                else:
                    resolve(names["fl"], value)
    return by_file, by_address


def lock_instructions(binary):
    """Returns {address: (instruction, function)} for every lock prefix."""
    listing = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", "-C", binary],
        capture_output=True, text=True, check=True).stdout
    locks = {}
    function = None
    for line in listing.splitlines():
        header = re.match(r"^([0-9a-f]+) <(.*)>:", line)
        if header:
            function = header.group(2)
            continue
        instruction = re.match(r"\s*([0-9a-f]+):\s+(lock\s+\S+)", line)
        if instruction:
            locks[int(instruction.group(1), 16)] = (instruction.group(2), function)
    return locks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", help="callgrind output file")
    parser.add_argument("binary", help="the profiled executable")
    parser.add_argument("units", type=float,
                        help="units of work in the profiled loop")
    parser.add_argument("--top", type=int, default=15,
                        help="rows to print per table (default 15)")
    args = parser.parse_args()

    binary = os.path.realpath(args.binary)
    by_file, by_address = read_costs(args.profile, binary)
    total = sum(by_file.values())
    if total == 0:
        sys.exit(f"{args.profile}: no costs found; record it with "
                 "--dump-instr=yes --compress-pos=no")
    print(f"{total / args.units:10.1f} instructions per unit")
    print("\nInstructions per unit by source file of the executed line:")
    for path, cost in by_file.most_common(args.top):
        print(f"{cost / args.units:10.1f} {100 * cost / total:5.1f}%  {path}")

    locks = lock_instructions(binary)
    by_function = collections.Counter()
    for address, (instruction, function) in locks.items():
        if by_address[address]:
            by_function[(instruction, function)] += by_address[address]
    executed = sum(by_function.values())
    print(f"\n{executed / args.units:10.2f} lock-prefixed instructions per unit, "
          "by function:")
    for (instruction, function), count in by_function.most_common(args.top):
        if count / args.units >= 0.005:
            print(f"{count / args.units:10.2f}  {instruction:12} {function[:100]}")


if __name__ == "__main__":
    main()
