module sigverify.bench/wanproxy

go 1.21
