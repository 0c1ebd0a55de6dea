#!/usr/bin/env python3
"""Turns the plain // comments of public headers into Doxygen comments where they document a
declaration: a comment block right above a declaration at namespace or class scope becomes ///,
a comment after a declaration on the same line becomes ///<, the block that opens a file (after
#pragma once) becomes the file's \\file description. Comments inside function bodies, and blocks
followed by a blank line, stay as they are. Idempotent. Usage: doc_comments.py HEADER..."""
import re
import sys

SCOPE_OPENERS = re.compile(r'\b(namespace|class|struct|enum|union)\b')


def convert(lines):
    out = list(lines)
    depth_kinds = []  # 'scope' or 'body' for each open brace
    seen_code = False
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        stripped = line.strip()
        in_body = 'body' in depth_kinds
        if stripped.startswith('//') and not stripped.startswith('///') and not in_body:
            j = i
            while j < n and lines[j].strip().startswith('//') and not lines[j].strip().startswith('///'):
                j += 1
            nxt = lines[j].strip() if j < n else ''
            if not seen_code and nxt.startswith('#include') or (not seen_code and nxt == '' and i > 0):
                # the file's opening description
                if not seen_code:
                    indent = line[:len(line) - len(line.lstrip())]
                    out[i] = indent + '/// \\file\n' + indent + '/// ' + stripped[2:].lstrip() + '\n' if stripped[2:].strip() else line
                    for k in range(i + 1, j):
                        s = lines[k]
                        ind = s[:len(s) - len(s.lstrip())]
                        out[k] = ind + '///' + s.strip()[2:] + '\n'
            elif nxt and not nxt.startswith('#') and not nxt.startswith('}') and nxt not in ('public:', 'private:', 'protected:'):
                for k in range(i, j):
                    s = lines[k]
                    ind = s[:len(s) - len(s.lstrip())]
                    out[k] = ind + '///' + s.strip()[2:] + '\n'
            i = j
            continue
        code = line.split('//', 1)[0] if '//' in line and not line.strip().startswith('//') else ('' if stripped.startswith('//') else line)
        if code.strip() and not code.strip().startswith('#'):
            seen_code = True
        # a trailing comment after a declaration at scope level
        m = re.match(r'^(.*?[;,{])(\s+)//(?!/)(.*)$', line.rstrip('\n'))
        if m and not in_body and not m.group(1).strip().startswith('//') and '"' not in m.group(1):
            out[i] = m.group(1) + m.group(2) + '///<' + m.group(3) + '\n'
        # brace tracking on the code part
        for ch in code:
            if ch == '{':
                kind = 'scope' if SCOPE_OPENERS.search(code) and not re.search(r'\)\s*(const)?\s*(override)?\s*\{', code) else 'body'
                depth_kinds.append(kind)
            elif ch == '}':
                if depth_kinds:
                    depth_kinds.pop()
        i += 1
    return out


for path in sys.argv[1:]:
    with open(path) as f:
        lines = f.readlines()
    new = convert(lines)
    if new != lines:
        with open(path, 'w') as f:
            f.writelines(new)
