# Throughput against tail latency; the dashed line is the Pareto frontier,
# the configurations no other one beats on both axes.
load tdir.'/common.gp'
set title sprintf('%s: throughput vs p99 latency (labels: concurrency)', plan)
set xlabel 'p99 latency (us, log scale)'
set ylabel 'Throughput (QPS)'
set logscale x 10
set yrange [0:*]
do for [fmt in 'png svg'] {
    if (fmt eq 'png') {
        set terminal pngcairo noenhanced size 1100,650 font ',11'
    } else {
        set terminal svg noenhanced size 1100,650 dynamic font ',11'
    }
    set output sprintf('%s.%s', out, fmt)
    plot for [i=0:n-1] data index i using 5:2 with points pt 7 ps 1.5 lc i+1 title word(titles, i+1), \
         for [i=0:n-1] data index i using 5:2:(sprintf('c%d', $1)) with labels offset 1.5,0.6 font ',9' notitle, \
         front using 1:2 with linespoints dt 2 lw 2 pt 6 ps 2.5 lc rgb 'black' title 'Pareto frontier'
    set output
}
