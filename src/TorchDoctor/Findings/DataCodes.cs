namespace TorchDoctor.Findings;

/// <summary>
/// The finding catalogue, range TD3xxx: data sets, transforms and loaders (the data checker and the loader checker).
/// Each code is documented in docs/findings.md.
/// </summary>
public static class DataCodes
{
    /// <summary>A sample whose <c>GetTensor</c> threw.</summary>
    public static readonly FindingCode SampleFailed = new("TD3001", "sample-failed", Severity.Error,
        "Reading a sample threw an exception (GetTensor or a transform failed).", RemedyKind.FixDataPipeline);

    /// <summary>Samples do not all have the same fields (dictionary keys).</summary>
    public static readonly FindingCode MissingField = new("TD3002", "missing-field", Severity.Error,
        "Some samples lack a field that the others have (the DataLoader's collate will fail).", RemedyKind.FixDataPipeline);

    /// <summary>A field's dtype differs between samples.</summary>
    public static readonly FindingCode InconsistentDType = new("TD3003", "inconsistent-dtype", Severity.Error,
        "A field's dtype differs between samples.", RemedyKind.FixDataPipeline);

    /// <summary>A field's shape differs between samples.</summary>
    public static readonly FindingCode InconsistentShape = new("TD3004", "inconsistent-shape", Severity.Error,
        "A field's shape differs between samples (the DataLoader cannot stack them into a batch).", RemedyKind.FixDataPipeline);

    /// <summary>NaN or infinite values in a field.</summary>
    public static readonly FindingCode NonFinite = new("TD3005", "non-finite", Severity.Error,
        "A field contains NaN or infinite values.", RemedyKind.CleanData);

    /// <summary>A field that has the same value everywhere.</summary>
    public static readonly FindingCode ConstantField = new("TD3006", "constant-field", Severity.Warning,
        "A field holds one value in every sample: it carries no information.", RemedyKind.CleanData);

    /// <summary>Float images still in the 0–255 range.</summary>
    public static readonly FindingCode UnscaledPixels = new("TD3007", "unscaled-pixels", Severity.Warning,
        "Image values lie in 0–255: the pixels were never scaled to [0, 1].", RemedyKind.ScaleInputs);

    /// <summary>Images in [0, 1] that are not normalised: the Normalize values to use.</summary>
    public static readonly FindingCode NotNormalized = new("TD3008", "not-normalized", Severity.Info,
        "Images are in [0, 1] but not normalised; the exact transforms.Normalize(mean, std) values are given.", RemedyKind.NormalizeInputs);

    /// <summary>Integer (uint8) images that a float model cannot take.</summary>
    public static readonly FindingCode IntegerImages = new("TD3009", "integer-images", Severity.Warning,
        "Images are stored as an integer dtype (e.g. uint8); a float model needs float32.", RemedyKind.ScaleInputs);

    /// <summary>Images that look channels-last (HWC) where TorchSharp wants CHW.</summary>
    public static readonly FindingCode ChannelsLast = new("TD3010", "channels-last", Severity.Warning,
        "Images look channels-last (H, W, C); TorchSharp convolutions want channels-first (C, H, W).", RemedyKind.PermuteChannels);

    /// <summary>The number of image channels differs from what the model expects.</summary>
    public static readonly FindingCode ChannelMismatch = new("TD3011", "channel-mismatch", Severity.Error,
        "Images have a different number of channels from the model's first convolution.", RemedyKind.FixShape);

    /// <summary>Labels with a dtype cross_entropy does not accept.</summary>
    public static readonly FindingCode LabelDType = new("TD3012", "label-dtype", Severity.Error,
        "Class labels are not int64: cross_entropy wants int64 class indices.", RemedyKind.FixLabels);

    /// <summary>Labels outside [0, classes).</summary>
    public static readonly FindingCode LabelOutOfRange = new("TD3013", "label-out-of-range", Severity.Error,
        "A label is negative or not below the number of classes.", RemedyKind.FixLabels);

    /// <summary>Classes with very different sample counts, or classes without samples.</summary>
    public static readonly FindingCode ClassImbalance = new("TD3014", "class-imbalance", Severity.Warning,
        "Class counts are far apart (or a class has no sample).", RemedyKind.RebalanceClasses);

    /// <summary>Exact duplicate samples within one split.</summary>
    public static readonly FindingCode DuplicateSamples = new("TD3015", "duplicate-samples", Severity.Warning,
        "Some samples are exact copies of others in the same split.", RemedyKind.Deduplicate);

    /// <summary>Samples present in two splits (train and validation/test).</summary>
    public static readonly FindingCode SplitLeakage = new("TD3016", "split-leakage", Severity.Error,
        "Samples of the training split also appear in a validation or test split.", RemedyKind.Deduplicate);

    /// <summary>Batch size at or above the data set size.</summary>
    public static readonly FindingCode BatchTooLarge = new("TD3017", "batch-too-large", Severity.Warning,
        "The batch size is at least the number of samples: one batch per epoch, or none with drop_last.", RemedyKind.ChangeLoader);

    /// <summary>A last batch much smaller than the others.</summary>
    public static readonly FindingCode SmallLastBatch = new("TD3018", "small-last-batch", Severity.Info,
        "The last batch of each epoch is much smaller than the others.", RemedyKind.ChangeLoader);

    /// <summary>A training loader that does not shuffle data sorted by label.</summary>
    public static readonly FindingCode UnshuffledSorted = new("TD3019", "unshuffled-sorted", Severity.Error,
        "The training loader does not shuffle and consecutive batches hold runs of one label.", RemedyKind.Shuffle);

    /// <summary>Batches whose shapes differ, or a batch the loader could not build.</summary>
    public static readonly FindingCode BatchShapeVaries = new("TD3020", "batch-shape-varies", Severity.Warning,
        "Batches differ in shape beyond the batch size, or a batch could not be collated.", RemedyKind.FixDataPipeline);

    /// <summary>The loader is the bottleneck of the training step.</summary>
    public static readonly FindingCode LoaderBottleneck = new("TD3021", "loader-bottleneck", Severity.Warning,
        "Training spends a large part of each step waiting for the data loader.", RemedyKind.ChangeLoader);

    /// <summary>Labels too large (or too sparse) to be class indices.</summary>
    public static readonly FindingCode LabelNotClassIndex = new("TD3022", "label-not-class-index", Severity.Error,
        "Whole-number labels so large or so sparse that they cannot be class indices 0..K-1 (IDs, codes or corrupt values).", RemedyKind.FixLabels);

    /// <summary>Numeric feature columns on very different scales.</summary>
    public static readonly FindingCode FeatureScale = new("TD3023", "feature-scale", Severity.Warning,
        "Numeric features span very different ranges: the large ones dominate the gradients until they are standardised.", RemedyKind.NormalizeInputs);

    /// <summary>A CSV column of text, left out of the features.</summary>
    public static readonly FindingCode CategoricalColumn = new("TD3024", "categorical-column", Severity.Warning,
        "A CSV column holds text (categories); it is not a number the model can take and was left out of the features.", RemedyKind.FixDataPipeline);

    /// <summary>Splits that disagree in field shapes, dtypes or label ranges.</summary>
    public static readonly FindingCode SplitMismatch = new("TD3025", "split-mismatch", Severity.Error,
        "A validation/test split differs from the training split in a field's shape or dtype, or holds labels the training split never has.", RemedyKind.FixDataPipeline);

    /// <summary>The model's outputs do not match the data's classes.</summary>
    public static readonly FindingCode HeadClassMismatch = new("TD3026", "head-class-mismatch", Severity.Error,
        "The model's last layer has another number of outputs than the data has classes.", RemedyKind.FixShape);

    /// <summary>The label dtype does not fit the loss the model trains with.</summary>
    public static readonly FindingCode LabelLossMismatch = new("TD3027", "label-loss-mismatch", Severity.Error,
        "The labels' dtype or values do not fit the loss given with --loss (BCE wants float 0/1 targets, MSE float targets).", RemedyKind.FixLabels);
}
