# Throughput against requests in flight, with each series' knee circled.
load tdir.'/common.gp'
set title sprintf('%s: throughput vs concurrency (medians across runs)', plan)
set xlabel 'Concurrency (requests in flight)'
set ylabel 'Throughput (QPS)'
set logscale x 2
set yrange [0:*]
do for [fmt in 'png svg'] {
    if (fmt eq 'png') {
        set terminal pngcairo noenhanced size 1100,650 font ',11'
    } else {
        set terminal svg noenhanced size 1100,650 dynamic font ',11'
    }
    set output sprintf('%s.%s', out, fmt)
    plot for [i=0:n-1] data index i using 1:2 with linespoints lw 2 pt 7 title word(titles, i+1), \
         knees using 1:2 with points pt 6 ps 4 lw 3 lc rgb 'red' title 'knee', \
         knees using 1:2:3 with labels offset 0,1.6 textcolor rgb 'red' notitle
    set output
}
