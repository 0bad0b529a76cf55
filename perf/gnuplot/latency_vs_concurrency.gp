# Latency percentiles against requests in flight: where queueing begins.
load tdir.'/common.gp'
set title sprintf('%s: latency vs concurrency (medians across runs)', plan)
set xlabel 'Concurrency (requests in flight)'
set ylabel 'Latency (us, log scale)'
set logscale x 2
set logscale y 10
do for [fmt in 'png svg'] {
    if (fmt eq 'png') {
        set terminal pngcairo noenhanced size 1100,650 font ',11'
    } else {
        set terminal svg noenhanced size 1100,650 dynamic font ',11'
    }
    set output sprintf('%s.%s', out, fmt)
    plot for [i=0:n-1] data index i using 1:3 with linespoints lw 2 pt 7 dt 3 lc i+1 title word(titles, i+1).' p50', \
         for [i=0:n-1] data index i using 1:4 with linespoints lw 2 pt 5 dt 2 lc i+1 title word(titles, i+1).' p90', \
         for [i=0:n-1] data index i using 1:5 with linespoints lw 2 pt 9 dt 1 lc i+1 title word(titles, i+1).' p99'
    set output
}
