# Only shell builtins: no fork needed.
x=0
for i in 1 2 3 4 5 6 7 8 9 10; do x=$((x + i * i)); done
echo "sum of squares: $x"
f() { echo "f got $# args: $*"; return 3; }
f a "b c" d; echo "status $?"
case "elfin" in e*) echo "starts with e" ;; *) echo no ;; esac
s="hello world"; echo "${s#hello }" "${#s}" "${s%world}|"
i=0; while [ $i -lt 3 ]; do echo "while $i"; i=$((i + 1)); done
set -- one two three; shift; echo "$@"
printf '%s=%d\n' a 1 b 2
test -f words.txt && echo "words.txt is a file"
[ -d tree ] && echo "tree is a dir"
while read -r first rest; do echo "first=$first"; done < left.txt
echo done > sh-out.txt; read -r back < sh-out.txt; echo "read back: $back"
