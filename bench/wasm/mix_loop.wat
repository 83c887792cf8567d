;; acc = acc * 31 + i for i in [0, 1000000): the interpreted half of the compute benchmark
;; (wasm_bench.cpp has the native half). The result goes to memory so the work is observable.
(module
  (memory (export "memory") 1)
  (func (export "_start") (local $i i64) (local $acc i64)
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (i64.const 1000000)))
        (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 31)) (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (i64.store (i32.const 0) (local.get $acc))))
